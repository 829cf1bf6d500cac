package contacts_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// contact_tags (one row per live contact and tag, from which a list filtered by tags alone
// is counted) equals a recount from the contacts after concurrent random creates, tag edits,
// moves to the trash and back, merges and deletes for good; and the totals of tag filters
// that the list counts from it equal a count of the contacts themselves.
func TestTagRowsFollowEveryContactWrite(t *testing.T) {
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
					res := e.as(e.team.Owner, "POST", "/api/v1/contacts", map[string]any{"name": "C", "tags": someTags(r)})
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
						if r.IntN(4) == 0 {
							body = map[string]any{"tags": nil} // null: no tags
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
