package contacts_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// contact_tags and contact_search (a row per live contact and tag, and per live contact,
// from which a list filtered by tags alone or by a search alone is counted) equal a recount
// from the contacts after concurrent random creates, edits of tags and searched fields, moves
// to the trash and back and merges, and deletes for good; and the totals of tag and search
// filters that the list counts from them equal a count of the contacts themselves.
func TestListCountTablesFollowEveryContactWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tags := []string{"vip", "lead", "partner", "cold"}
	someTags := func(r *rand.Rand) []any {
		var out []any
		for _, tg := range tags {
			if r.IntN(2) == 0 {
				// Spellings the service normalizes to the stored tag.
				out = append(out, []string{tg, strings.ToUpper(tg), " " + tg + " "}[r.IntN(3)])
			}
		}
		return out
	}
	names := []string{"Ärzte Müller", "ÉLODIE", "Ann", "Straße Bob"}
	companies := []string{"Umbrella Corp", "Globex", "ÄRZTEKAMMER", ""}
	fields := func(r *rand.Rand, body map[string]any) map[string]any {
		body["name"] = names[r.IntN(len(names))]
		if c := companies[r.IntN(len(companies))]; c != "" {
			body["company"] = c
		} else {
			body["company"] = nil
		}
		body["email"] = []any{nil, "x@umbrella.example", "Ann@Globex.Example"}[r.IntN(3)]
		body["phone"] = []any{nil, "+44 20 7946 0018", "555 0100"}[r.IntN(3)]
		return body
	}
	// The outsider's organization has tagged contacts that must count nowhere here.
	for range 3 {
		e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: e.team.Outsider.Token,
			Org: e.team.Outsider.OrgID, Body: map[string]any{"name": "Elsewhere", "tags": tags}})
	}
	var mu sync.Mutex
	var ids []int64
	pick := func(r *rand.Rand) (int64, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(ids) == 0 {
			return 0, false
		}
		return ids[r.IntN(len(ids))], true
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 11))
			for range 25 {
				switch op := r.IntN(10); {
				case op < 3:
					res := e.as(e.team.Owner, "POST", "/api/v1/contacts", fields(r, map[string]any{"tags": someTags(r)}))
					if res.Status != http.StatusCreated {
						t.Errorf("create: %d %s", res.Status, res.Body)
						return
					}
					mu.Lock()
					ids = append(ids, int64(res.JSON()["id"].(float64)))
					mu.Unlock()
				case op < 6:
					if c, ok := pick(r); ok {
						body := map[string]any{"tags": someTags(r)}
						switch r.IntN(4) {
						case 0:
							body = map[string]any{"tags": nil} // null: no tags
						case 1:
							body = fields(r, map[string]any{})
						}
						e.as(e.team.Owner, "PATCH", contactPath(c), body) // 404 once in the trash
					}
				case op < 7:
					if c, ok := pick(r); ok {
						e.as(e.team.Owner, "DELETE", contactPath(c), nil)
					}
				case op < 8:
					if c, ok := pick(r); ok {
						e.as(e.team.Owner, "POST", fmt.Sprintf("/api/v1/trash/contact/%d/restore", c), nil)
					}
				default:
					a, ok1 := pick(r)
					b, ok2 := pick(r)
					if ok1 && ok2 && a != b {
						e.as(e.team.Owner, "POST", mergePath(a), map[string]any{"from": []int64{b}})
					}
				}
			}
		}()
	}
	wg.Wait()
	// Deletes for good below the service (the rows go by the foreign key).
	sql := e.sqlConn()
	if _, err := sql.Exec(context.Background(), `DELETE FROM contacts WHERE id = ANY($1)`, ids[:3]); err != nil {
		t.Fatal(err)
	}

	var wrong int
	if err := sql.QueryRow(context.Background(), `SELECT count(*) FROM (
			SELECT organization_id, tag, contact_id FROM contact_tags) k
		FULL JOIN (SELECT c.organization_id, t.tag, c.id AS contact_id FROM contacts c, unnest(c.tags) t (tag) WHERE c.deleted_at IS NULL) d
		USING (organization_id, tag, contact_id) WHERE k.tag IS NULL OR d.tag IS NULL`).Scan(&wrong); err != nil || wrong != 0 {
		t.Fatalf("contact_tags differs from the contacts' tags in %d rows (err %v)", wrong, err)
	}
	if err := sql.QueryRow(context.Background(), `SELECT count(*) FROM contact_search k
		FULL JOIN (SELECT organization_id, id AS contact_id, contacts_search_doc(name, email, phone, company) AS doc FROM contacts WHERE deleted_at IS NULL) d
		USING (organization_id, contact_id) WHERE k.doc IS DISTINCT FROM d.doc`).Scan(&wrong); err != nil || wrong != 0 {
		t.Fatalf("contact_search differs from the contacts in %d rows (err %v)", wrong, err)
	}
	// Each search against ILIKE on the fields themselves: other cases of letters beyond ASCII,
	// the phone as written, a text that would span two fields if they were joined by a space
	// or a comma, LIKE's own wildcards (taken literally).
	for _, search := range []string{"ärzte", "ÄRZ", "élodie", "STRASSE", "straße", "umbrella", "+44 20", "0018", "globex.ex",
		"müller umbrella", "ann,", "corp x@", "%", "_", "a_n"} {
		var want int64
		var wantIDs, ownerIDs []int64
		p := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(search) + "%"
		if err := sql.QueryRow(context.Background(), `SELECT count(*),
				coalesce(array_agg(id ORDER BY created_at DESC, id DESC), '{}'),
				coalesce(array_agg(id ORDER BY created_at DESC, id DESC) FILTER (WHERE owner_id = $3), '{}')
			FROM contacts WHERE organization_id = $1 AND deleted_at IS NULL
			AND (name ILIKE $2 OR email ILIKE $2 OR phone ILIKE $2 OR company ILIKE $2)`, e.team.OrgID, p, e.team.Owner.ID).Scan(&want, &wantIDs, &ownerIDs); err != nil {
			t.Fatal(err)
		}
		m := e.must(http.StatusOK, e.team.Member, "GET", "/api/v1/contacts?page_size=1&search="+url.QueryEscape(search), nil)
		if m["total"] != float64(want) || m["total_capped"] != false {
			t.Errorf("search %q: total %v (capped %v), want %d", search, m["total"], m["total_capped"], want)
		}
		// The page's rows themselves, alone and with an owner (then counted in contacts).
		for _, q := range []struct {
			query string
			want  []int64
		}{{"", wantIDs}, {fmt.Sprintf("&owner_id=%d", e.team.Owner.ID), ownerIDs}} {
			m := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/contacts?page_size=100&search="+url.QueryEscape(search)+q.query, nil)
			first := q.want[:min(len(q.want), 100)]
			if got := listIDs(m); !slices.Equal(got, first) || m["total"] != float64(len(q.want)) {
				t.Errorf("search %q%s: ids %v total %v, want %v of %d", search, q.query, got, m["total"], first, len(q.want))
			}
		}
	}
	for _, q := range []string{"tag=vip", "tag=lead&tag=vip", "tag=cold&tag=lead&tag=partner", "tag=nobody"} {
		var filter []string
		for _, kv := range strings.Split(q, "&") {
			filter = append(filter, strings.TrimPrefix(kv, "tag="))
		}
		var want int64
		if err := sql.QueryRow(context.Background(), `SELECT count(*) FROM contacts
			WHERE organization_id = $1 AND deleted_at IS NULL AND tags @> $2::text[]`, e.team.OrgID, filter).Scan(&want); err != nil {
			t.Fatal(err)
		}
		// A page of one, so that the total is counted rather than read off the page.
		m := e.must(http.StatusOK, e.team.Member, "GET", "/api/v1/contacts?page_size=1&"+q, nil)
		if m["total"] != float64(want) || m["total_capped"] != false {
			t.Errorf("%s: total %v (capped %v), want %d", q, m["total"], m["total_capped"], want)
		}
	}
}
