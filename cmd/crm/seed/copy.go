package seed

import (
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// copySpec is one COPY: a table, its columns and the rows to stream into it.
type copySpec struct {
	table string
	cols  []string
	rows  int64
	src   *rowSource
}

// rowSource streams the rows of a table, organization by organization, building each row
// when pgx asks for it (pgx encodes a row before asking for the next, so one slice serves).
type rowSource struct {
	orgs  []*orgPlan
	count func(o *orgPlan) int
	fill  func(o *orgPlan, i int, row []any)
	oi, i int
	row   []any
	pr    *progress
}

func (s *rowSource) Next() bool {
	s.i++
	for s.oi < len(s.orgs) && s.i >= s.count(s.orgs[s.oi]) {
		s.oi++
		s.i = 0
	}
	if s.oi >= len(s.orgs) {
		return false
	}
	s.pr.done.Add(1)
	return true
}

func (s *rowSource) Values() ([]any, error) {
	s.fill(s.orgs[s.oi], s.i, s.row)
	return s.row, nil
}

func (s *rowSource) Err() error { return nil }

// writer turns the generated data into rows.
type writer struct {
	p    *plan
	seed uint64
	hash string
	pr   *progress
	// pipelines are each organization's pipelines, the default one first (filled by the
	// pipelines step, before the deals are copied).
	pipelines map[int64][]int64
}

func (w writer) spec(table string, cols []string, count func(o *orgPlan) int, fill func(o *orgPlan, i int, row []any)) copySpec {
	var n int64
	for _, o := range w.p.orgs {
		n += int64(count(o))
	}
	return copySpec{table: table, cols: cols, rows: n,
		src: &rowSource{orgs: w.p.orgs, count: count, fill: fill, i: -1, row: make([]any, len(cols)), pr: w.pr}}
}

// Kinds of strings, mixed into the hash so that each column draws independently.
const (
	hUser = iota + 1
	hContact
	hDeal
	hTask
	hContactWork
	hContactTag
	hDealForecast
)

// h is a well-mixed 64-bit hash of the seed, a kind of string and an id (splitmix64).
func (w writer) h(kind, id int64) uint64 {
	z := w.seed ^ uint64(kind)<<56 ^ uint64(id)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func word(list []string, h uint64, shift uint) string { return list[(h>>shift)%uint64(len(list))] }

func ts(micros int64) time.Time { return time.UnixMicro(micros).UTC() }

func (w writer) personName(kind, id int64) (first, last string) {
	h := w.h(kind, id)
	return word(firstNames, h, 0), word(lastNames, h, 16)
}

func (w writer) users() copySpec {
	return w.spec("users", []string{"id", "email", "password_hash", "name", "created_at", "updated_at"},
		func(o *orgPlan) int { return len(o.roles) },
		func(o *orgPlan, m int, row []any) {
			id := o.firstUser + int64(m)
			first, last := w.personName(hUser, id)
			at := ts(o.created + int64(m)*3_600_000_000)
			row[0], row[1], row[2], row[3], row[4], row[5] = id, Email(o.id, m), w.hash, first+" "+last, at, at
		})
}

func (w writer) organizations() copySpec {
	return w.spec("organizations", []string{"id", "name", "default_currency", "created_at", "updated_at"},
		func(*orgPlan) int { return 1 },
		func(o *orgPlan, _ int, row []any) {
			row[0], row[1], row[2], row[3], row[4] = o.id, o.name, o.currency, ts(o.created), ts(o.created)
		})
}

func (w writer) members() copySpec {
	return w.spec("organization_members", []string{"organization_id", "user_id", "role", "joined_at"},
		func(o *orgPlan) int { return len(o.roles) },
		func(o *orgPlan, m int, row []any) {
			row[0], row[1], row[2], row[3] = o.id, o.firstUser+int64(m), o.roles[m], ts(o.created+int64(m)*3_600_000_000)
		})
}

func (w writer) contacts() copySpec {
	return w.spec("contacts", []string{"id", "organization_id", "owner_id", "name", "email", "phone", "company", "job_title", "notes",
		"tags", "created_at", "updated_at"},
		func(o *orgPlan) int { return o.contacts },
		func(o *orgPlan, i int, row []any) {
			id := o.contactBase + int64(i) + 1
			h := w.h(hContact, id)
			first, last := word(firstNames, h, 0), word(lastNames, h, 16)
			var email, phone any
			if h>>32%10 < 8 {
				email = strings.ToLower(first) + "." + strings.ToLower(last) + strconv.FormatInt(id, 10) + "@" + word(domains, h, 40)
			}
			if h>>36%10 < 6 {
				phone = "+1 555 " + strconv.FormatUint(100+h>>44%900, 10) + " " + strconv.FormatUint(1000+h>>50%9000, 10)
			}
			company, jobTitle, notes := w.workplace(id)
			at := ts(o.data.contacts[i])
			row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10], row[11] = id, o.id,
				o.firstUser+int64(h>>24%uint64(len(o.roles))), first+" "+last, email, phone, company, jobTitle, notes, w.tags(id), at, at
		})
}

// workplace draws a contact's company (three in four have one), job title (three in five)
// and notes (one in six), each nil or a string, from a hash of its own so that the other
// columns keep their values.
func (w writer) workplace(id int64) (company, jobTitle, notes any) {
	h := w.h(hContactWork, id)
	if h%4 != 0 {
		company = word(companies, h, 8) + word(companySuffixes, h, 20)
	}
	if h>>32%5 < 3 {
		jobTitle = word(jobTitles, h, 36)
	}
	if h>>48%6 == 0 {
		notes = word(contactNotes, h, 52)
	}
	return company, jobTitle, notes
}

// tags draws a contact's tags: each tag of contactTags independently with its share, in
// the order of the list (so a contact carries none to a handful).
func (w writer) tags(id int64) []string {
	out := []string{}
	for k, t := range contactTags {
		if w.h(hContactTag, id<<5|int64(k))%1000 < t.perMille {
			out = append(out, t.tag)
		}
	}
	return out
}

func (w writer) dealTitle(id int64) string {
	h := w.h(hDeal, id)
	return word(companies, h, 0) + " - " + word(products, h, 20)
}

func (w writer) deals() copySpec {
	return w.spec("deals", []string{"id", "organization_id", "contact_id", "owner_id", "title", "amount", "currency",
		"status", "stage", "max_stage", "lost_reason", "created_at", "updated_at", "expected_close_date", "probability", "pipeline_id"},
		func(o *orgPlan) int { return o.deals },
		func(o *orgPlan, i int, row []any) {
			d := &o.data.deals[i]
			id := o.dealBase + int64(i) + 1
			var reason any
			if d.lostReason >= 0 {
				reason = lostReasons[d.lostReason]
			}
			row[0], row[1], row[2], row[3] = id, o.id, o.contactBase+int64(d.contact)+1, o.firstUser+int64(d.owner)
			row[4] = w.dealTitle(id)
			row[5] = pgtype.Numeric{Int: big.NewInt(d.cents), Exp: -2, Valid: true}
			row[6], row[7], row[8], row[9] = currencies[d.currency], statuses[d.status], stages[d.stage], int16(d.maxStage)+1
			row[10], row[11], row[12] = reason, ts(d.created), ts(d.updated)
			row[13], row[14] = w.forecastFields(d, id)
			row[15] = w.pipelineOf(o, id)
		})
}

// forecastFields are a deal's expected close date and probability override, drawn from its
// id so that the rest of the data set does not change: 85 % of the deals have a date (an
// open deal's spread from two months before the anchor to ten months after it, a closed
// deal's up to 60 days after it last changed), 10 % an override of 0..100.
func (w writer) forecastFields(d *deal, id int64) (closeDate, probability any) {
	h := w.h(hDealForecast, id)
	if h%100 < 85 {
		day := d.updated/microsPerDay + int64(h>>8%60)
		if st := statuses[d.status]; st == "new" || st == "in_progress" {
			day = w.p.anchor/microsPerDay - 60 + int64(h>>8%360)
		}
		closeDate = time.Unix(day*86400, 0).UTC()
	}
	if h>>20%100 < 10 {
		probability = int16(h >> 28 % 101)
	}
	return closeDate, probability
}

func (w writer) taskTitle(id int64) string { return word(taskTitles, w.h(hTask, id), 0) }

func dueDate(days int32) time.Time { return time.Unix(int64(days)*86400, 0).UTC() }

func (w writer) tasks() copySpec {
	return w.spec("tasks", []string{"id", "organization_id", "deal_id", "assignee_id", "title", "description", "due_date",
		"is_done", "completed_at", "created_at", "updated_at"},
		func(o *orgPlan) int { return o.tasks },
		func(o *orgPlan, j int, row []any) {
			t := &o.data.tasks[j]
			id := o.taskBase + int64(j) + 1
			h := w.h(hTask, id)
			var desc, due any
			if h>>32%10 < 3 {
				desc = word(taskDescriptions, h, 40)
			}
			if t.due != noDue {
				due = dueDate(t.due)
			}
			// Assigned to the deal's owner (the service's default); a done task was completed
			// when it was last written.
			var completed any
			if t.done {
				completed = ts(t.updated)
			}
			row[0], row[1], row[2], row[3] = id, o.id, o.dealBase+int64(t.deal)+1, o.firstUser+int64(o.data.deals[t.deal].owner)
			row[4], row[5], row[6], row[7] = w.taskTitle(id), desc, due, t.done
			row[8], row[9], row[10] = completed, ts(t.created), ts(t.updated)
		})
}

var activityTypes = [...]string{actCreated: "system", actStatus: "status_changed", actStage: "stage_changed",
	actComment: "comment", actTask: "task_created"}

func (w writer) activities() copySpec {
	var buf []byte
	return w.spec("activities", []string{"id", "organization_id", "deal_id", "author_id", "type", "payload", "created_at"},
		func(o *orgPlan) int { return len(o.data.activities) },
		func(o *orgPlan, k int, row []any) {
			a := &o.data.activities[k]
			var author any
			if a.author >= 0 {
				author = o.firstUser + int64(a.author)
			}
			buf = buf[:0]
			switch a.kind {
			case actCreated:
				buf = append(buf, `{"event": "deal_created"}`...)
			case actStatus:
				buf = appendFromTo(buf, statuses[a.from], statuses[a.to])
			case actStage:
				buf = appendFromTo(buf, stages[a.from], stages[a.to])
			case actComment:
				buf = append(buf, `{"text": `...)
				buf = appendJSONString(buf, commentTexts[a.ref])
				buf = append(buf, '}')
			case actTask:
				t := &o.data.tasks[a.ref]
				id := o.taskBase + int64(a.ref) + 1
				buf = append(buf, `{"task_id": `...)
				buf = strconv.AppendInt(buf, id, 10)
				buf = append(buf, `, "title": `...)
				buf = appendJSONString(buf, w.taskTitle(id))
				buf = append(buf, `, "due_date": `...)
				if t.due == noDue {
					buf = append(buf, "null"...)
				} else {
					buf = append(buf, '"')
					buf = dueDate(t.due).AppendFormat(buf, time.DateOnly)
					buf = append(buf, '"')
				}
				buf = append(buf, '}')
			}
			row[0], row[1], row[2], row[3] = o.activityBase+int64(k)+1, o.id, o.dealBase+int64(a.deal)+1, author
			row[4], row[5], row[6] = activityTypes[a.kind], buf, ts(a.at)
		})
}

func appendFromTo(b []byte, from, to string) []byte {
	b = append(b, `{"from": `...)
	b = appendJSONString(b, from)
	b = append(b, `, "to": `...)
	b = appendJSONString(b, to)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
