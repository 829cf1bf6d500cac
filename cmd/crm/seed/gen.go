package seed

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
)

// Times are kept as Unix microseconds, the resolution of timestamptz.
const (
	microsPerDay = int64(24 * time.Hour / time.Microsecond)
	history      = 3 * 365 // days of data before the anchor
)

// Statuses and stages, as the deals module defines them and in its order; the seeder keeps
// their indexes, and a stage's position (max_stage) is its index + 1.
var (
	statuses = dealsapi.Statuses
	stages   = dealsapi.Stages
)

const (
	stNew = iota
	stInProgress
	stWon
	stLost
)

// Currencies a deal may carry, and how often one differs from the organization's default.
var currencies = []string{"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD"}

// currencyWeights is the share (per mille) of each currency among deals not in the
// organization's default currency.
var currencyWeights = []int{400, 300, 150, 50, 40, 30, 30}

// Activity kinds.
const (
	actCreated = iota // system {"event": "deal_created"}
	actStatus         // status_changed {"from", "to"}
	actStage          // stage_changed {"from", "to"}
	actComment        // comment {"text"}
	actTask           // task_created {"task_id", "title", "due_date"}
)

// deal is a generated deal; strings (title) are derived from its id when written.
type deal struct {
	created, updated int64
	cents            int64
	contact          int32 // index among the organization's contacts
	owner            int16 // index among the organization's members
	status, stage    uint8
	maxStage         uint8 // index of the furthest stage (max_stage − 1)
	currency         uint8
	lostReason       int8 // index in lostReasons, −1 for none
}

// task is a generated task.
type task struct {
	created, updated int64
	deal             int32
	due              int32 // days since the Unix epoch; noDue for none
	done             bool
}

const noDue = math.MinInt32

// activity is a generated timeline entry.
type activity struct {
	at     int64
	deal   int32
	ref    int32 // the task of a task_created, the text of a comment
	author int16 // member index, −1 for the system
	kind   uint8
	from   uint8
	to     uint8
}

// orgData is everything generated for one organization, in id order.
type orgData struct {
	contacts   []int64 // creation times
	deals      []deal
	tasks      []task
	activities []activity
}

// skewedTimes returns n sorted times in [from, to), denser towards to: the density grows
// linearly, like a business that grows.
func skewedTimes(rng *rand.Rand, n int, from, to int64) []int64 {
	ts := make([]int64, n)
	span := float64(to - from)
	for i := range ts {
		ts[i] = from + int64(span*math.Sqrt(rng.Float64()))
	}
	slices.Sort(ts)
	return ts
}

// pick returns an index drawn with the given weights.
func pick(rng *rand.Rand, weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	r := rng.IntN(total)
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1
}

// statusFor draws a status: young deals are mostly open, old ones mostly decided.
func statusFor(rng *rand.Rand, ageDays int64) uint8 {
	switch {
	case ageDays < 14:
		return uint8(pick(rng, 55, 40, 3, 2))
	case ageDays < 90:
		return uint8(pick(rng, 15, 50, 20, 15))
	default:
		return uint8(pick(rng, 3, 12, 47, 38))
	}
}

// stageFor draws the current stage and the furthest stage reached for a status.
func stageFor(rng *rand.Rand, status uint8) (stage, maxStage uint8) {
	switch status {
	case stNew:
		stage = uint8(pick(rng, 85, 15, 0, 0))
	case stInProgress:
		stage = uint8(pick(rng, 25, 35, 30, 10))
	case stWon:
		stage = uint8(pick(rng, 0, 0, 5, 95))
	default:
		stage = uint8(pick(rng, 30, 30, 25, 15))
	}
	maxStage = stage
	// A few open or lost deals were moved back after reaching a later stage.
	if stage < 3 && (status == stInProgress && rng.IntN(20) == 0 || status == stLost && rng.IntN(30) == 0) {
		maxStage = stage + 1 + uint8(rng.IntN(int(3-stage)))
	}
	return stage, maxStage
}

// amountFor draws an amount in cents: log-normal around 5,000 with a long tail, mostly
// whole units, in whole yen for JPY; a few open or lost deals have no amount yet (a won
// deal always has one, as the API requires).
func amountFor(rng *rand.Rand, currency string, status uint8) int64 {
	v := math.Exp(math.Log(5000) + 1.1*rng.NormFloat64())
	v = min(max(v, 50), 2_000_000)
	cents := int64(v * 100)
	if rng.IntN(4) != 0 {
		cents = cents / 100 * 100
	}
	if currency == "JPY" {
		cents = int64(v*150) * 100
	}
	if status != stWon && rng.IntN(70) == 0 {
		cents = 0
	}
	return cents
}

// step is one change of a deal's status or stage.
type step struct{ kind, from, to uint8 }

// pathTo returns the changes that lead a deal from (new, qualification) to its status,
// stage and furthest stage: in progress first, then the stages forward (sometimes skipping
// one), a move back when the furthest stage is beyond the current one, and the decision.
func pathTo(rng *rand.Rand, status, stage, maxStage uint8, out []step) []step {
	out = out[:0]
	lostDirect := status == stLost && rng.IntN(10) == 0
	if status != stNew && !lostDirect {
		out = append(out, step{actStatus, stNew, stInProgress})
	}
	for cur := uint8(0); cur < maxStage; {
		next := cur + 1
		if next < maxStage && rng.IntN(10) == 0 {
			next++
		}
		out = append(out, step{actStage, cur, next})
		cur = next
	}
	if stage < maxStage {
		out = append(out, step{actStage, maxStage, stage})
	}
	switch {
	case status == stWon:
		out = append(out, step{actStatus, stInProgress, stWon})
	case lostDirect:
		out = append(out, step{actStatus, stNew, stLost})
	case status == stLost:
		out = append(out, step{actStatus, stInProgress, stLost})
	}
	return out
}

// generate builds an organization's data. It is a pure function of the organization's
// plan, the anchor and the seed: every organization has its own random stream.
func generate(o *orgPlan, anchor int64, seed uint64) *orgData {
	rng := rand.New(rand.NewPCG(seed, uint64(o.id))) //nolint:gosec // reproducible data, not secrets
	d := &orgData{}
	d.contacts = skewedTimes(rng, o.contacts, o.created, anchor)
	times := skewedTimes(rng, o.deals, o.created+microsPerDay/24, anchor)
	d.deals = make([]deal, o.deals)
	members := len(o.roles)

	nDeals, nTasks := int64(o.deals), int64(o.tasks)
	budget := max(int64(o.activities), nDeals) // every deal has its deal_created
	taskEvents := min(nTasks, budget-nDeals)
	extra := budget - nDeals - taskEvents // status and stage changes, then comments
	d.activities = make([]activity, 0, budget)

	var path []step
	var gapBuf [8]int64
	known := 0 // contacts created up to the current deal
	for i, t := range times {
		for known < len(d.contacts) && d.contacts[known] <= t {
			known++
		}
		dl := deal{created: t, contact: int32(rng.IntN(max(known, 1))), owner: int16(rng.IntN(members)), lostReason: -1}
		status := statusFor(rng, (anchor-t)/microsPerDay)
		stage, maxStage := stageFor(rng, status)
		cur := o.currency
		if rng.IntN(10) >= 7 {
			cur = currencies[pick(rng, currencyWeights...)]
		}
		dl.currency = uint8(slices.Index(currencies, cur))
		dl.cents = amountFor(rng, cur, status)
		if status == stLost && rng.IntN(10) < 6 {
			dl.lostReason = int8(rng.IntN(len(lostReasons)))
		}

		// This deal's share of the extra activities: the latest changes of its path are
		// recorded, the earlier ones are taken as the state it was created in, and what
		// is left of its share are comments.
		share := int((int64(i)+1)*extra/nDeals - int64(i)*extra/nDeals)
		path = pathTo(rng, status, stage, maxStage, path)
		kept := path[len(path)-min(share, len(path)):]
		startStage := uint8(0)
		for _, s := range path[:len(path)-len(kept)] {
			if s.kind == actStage {
				startStage = s.to
			}
		}
		dl.status, dl.stage, dl.maxStage = status, stage, startStage
		for _, s := range kept {
			if s.kind == actStage {
				dl.maxStage = max(dl.maxStage, s.to)
			}
		}

		d.activities = append(d.activities, activity{at: t, deal: int32(i), author: -1, kind: actCreated})
		avail := anchor - t
		gaps := gapBuf[:len(kept)]
		var sum int64
		for j := range gaps {
			gaps[j] = int64(rng.ExpFloat64()*4*float64(microsPerDay)) + 60_000_000
			sum += gaps[j]
		}
		scale := 1.0
		if limit := avail * 9 / 10; sum > limit {
			scale = float64(limit) / float64(sum)
		}
		at := t
		for j, s := range kept {
			at += max(int64(float64(gaps[j])*scale), 1)
			author := dl.owner
			if s.kind == actStage && s.to < s.from {
				author = 0 // moving back is for owners and admins: the organization's owner did it
			}
			d.activities = append(d.activities, activity{at: at, deal: int32(i), author: author, kind: s.kind, from: s.from, to: s.to})
		}
		dl.updated = at
		if len(kept) == 0 && rng.IntN(5) == 0 {
			dl.updated = t + int64(rng.Float64()*float64(min(avail, 30*microsPerDay)))
		}
		for range share - len(kept) {
			d.activities = append(d.activities, activity{at: t + int64(rng.Float64()*float64(avail)), deal: int32(i),
				author: int16(rng.IntN(members)), kind: actComment, ref: int32(rng.IntN(len(commentTexts)))})
		}
		d.deals[i] = dl
	}

	d.tasks = generateTasks(rng, d.deals, o.tasks, anchor)
	for j := range taskEvents {
		tk := d.tasks[j]
		d.activities = append(d.activities, activity{at: tk.created, deal: tk.deal, author: d.deals[tk.deal].owner,
			kind: actTask, ref: int32(j)})
	}
	// Ids follow time, as they do in a live database.
	slices.SortStableFunc(d.activities, func(a, b activity) int { return cmp.Compare(a.at, b.at) })
	return d
}

// generateTasks draws n tasks, mostly on open deals, created during the deal's life, due
// within 45 days of their creation (so old ones are past due and recent ones due in the
// future); past-due tasks are mostly done, future ones mostly open. They are sorted by
// creation time, their id order.
func generateTasks(rng *rand.Rand, deals []deal, n int, anchor int64) []task {
	if len(deals) == 0 {
		return nil
	}
	var open []int32
	for i, d := range deals {
		if d.status == stNew || d.status == stInProgress {
			open = append(open, int32(i))
		}
	}
	today := int32(anchor / microsPerDay)
	tasks := make([]task, n)
	for j := range tasks {
		di := int32(rng.IntN(len(deals)))
		if len(open) > 0 && rng.IntN(10) < 7 {
			di = open[rng.IntN(len(open))]
		}
		d := deals[di]
		end := anchor
		if d.status == stWon || d.status == stLost {
			end = max(d.updated, d.created+1)
		}
		created := d.created + int64(rng.Float64()*float64(end-d.created))
		tk := task{created: created, updated: created, deal: di, due: noDue}
		if rng.IntN(10) != 0 {
			tk.due = int32(created/microsPerDay) + int32(rng.IntN(46))
		}
		var donePerMille int
		switch {
		case d.status == stWon || d.status == stLost:
			donePerMille = 950
		case tk.due == noDue:
			donePerMille = 500
		case tk.due < today:
			donePerMille = 850
		default:
			donePerMille = 80
		}
		if rng.IntN(1000) < donePerMille {
			tk.done = true
			tk.updated = created + int64(rng.Float64()*float64(anchor-created)/2)
		}
		tasks[j] = tk
	}
	slices.SortStableFunc(tasks, func(a, b task) int { return cmp.Compare(a.created, b.created) })
	return tasks
}
