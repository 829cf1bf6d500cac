package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/platform/database"
)

// totalOf reads a list's first page of one record and returns its total and total_capped.
func totalOf(t *testing.T, s *apptest.Server, u apptest.User, org int64, path string, q url.Values) (any, bool) {
	t.Helper()
	q.Set("page_size", "1")
	body := s.Must(200, apptest.Req{Method: "GET", Path: path + "?" + q.Encode(), Token: u.Token, Org: org}).JSON()
	capped, ok := body["total_capped"].(bool)
	if !ok {
		t.Fatalf("%s?%s: no total_capped in %v", path, q.Encode(), body)
	}
	return body["total"], capped
}

// The totals of the deal, contact and task lists that come from the counts kept in the write
// transactions (no filter, or only the kept filters) equal an exact count after concurrent
// random writes of every kind: creates, moves between statuses, stages, pipelines, owners and
// assignees, completion, deletes.
func TestKeptTotalsMatchExactCountsAfterConcurrentWrites(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	org := team.OrgID
	as := func(u apptest.User, status int, method, path string, body any) apptest.Response {
		return s.Must(status, apptest.Req{Method: method, Path: path, Token: u.Token, Org: org, Body: body})
	}
	id := func(r apptest.Response) int64 { return int64(r.JSON()["id"].(float64)) }
	owners := []apptest.User{team.Owner, team.Manager}
	var contacts []int64
	for i := range 4 {
		contacts = append(contacts, id(as(team.Owner, 201, "POST", "/api/v1/contacts",
			map[string]any{"name": fmt.Sprint("C", i), "owner_id": owners[i%2].ID})))
	}
	pl := as(team.Owner, 201, "POST", "/api/v1/pipelines", map[string]any{"name": "Second",
		"stages": []any{map[string]any{"key": "first"}, map[string]any{"key": "second"}}}).JSON()
	second := int64(pl["id"].(float64))
	stagesOf := map[bool][]string{false: {"qualification", "proposal", "negotiation", "closed"}, true: {"first", "second"}}
	statuses := []string{"new", "in_progress", "won", "lost"}

	var mu sync.Mutex
	var deals, tasks []int64
	pick := func(r *rand.Rand, ids *[]int64) (int64, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(*ids) == 0 {
			return 0, false
		}
		return (*ids)[r.IntN(len(*ids))], true
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 30 {
				switch op := r.IntN(9); {
				case op < 2:
					body := map[string]any{"contact_id": contacts[r.IntN(len(contacts))], "title": "D", "amount": "10.00",
						"owner_id": owners[r.IntN(2)].ID}
					if r.IntN(2) == 0 {
						body["pipeline_id"] = second
					}
					res := as(team.Owner, 201, "POST", "/api/v1/deals", body)
					mu.Lock()
					deals = append(deals, id(res))
					mu.Unlock()
				case op < 4:
					d, ok := pick(r, &deals)
					if !ok {
						continue
					}
					res := s.Do(apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/deals/%d", d), Token: team.Owner.Token, Org: org})
					if res.Status != 200 {
						continue // deleted meanwhile
					}
					cur := res.JSON()
					inSecond := int64(cur["pipeline_id"].(float64)) == second
					patch := map[string]any{}
					switch r.IntN(4) {
					case 0:
						patch["status"] = statuses[r.IntN(4)]
						if patch["status"] == "lost" {
							patch["lost_reason"] = "price"
						}
					case 1:
						keys := stagesOf[inSecond]
						patch["stage"] = keys[r.IntN(len(keys))]
					case 2:
						patch["owner_id"] = owners[r.IntN(2)].ID
					default:
						if inSecond {
							patch["pipeline_id"] = cur["pipeline_id"] // unchanged: no move
						} else {
							patch["pipeline_id"] = second
						}
					}
					// Conflicts with the rules (a rollback, a closed deal) are fine: they change nothing.
					s.Do(apptest.Req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/deals/%d", d), Token: team.Owner.Token, Org: org, Body: patch})
				case op < 5:
					d, ok := pick(r, &deals)
					if ok {
						s.Do(apptest.Req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/deals/%d", d), Token: team.Owner.Token, Org: org})
					}
				case op < 7:
					d, ok := pick(r, &deals)
					if !ok {
						continue
					}
					res := s.Do(apptest.Req{Method: "POST", Path: "/api/v1/tasks", Token: team.Owner.Token, Org: org,
						Body: map[string]any{"deal_id": d, "title": "T", "assignee_id": owners[r.IntN(2)].ID}})
					if res.Status == 201 {
						mu.Lock()
						tasks = append(tasks, id(res))
						mu.Unlock()
					}
				case op < 8:
					tk, ok := pick(r, &tasks)
					if ok {
						s.Do(apptest.Req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/tasks/%d", tk), Token: team.Owner.Token, Org: org,
							Body: map[string]any{"is_done": r.IntN(2) == 0, "assignee_id": owners[r.IntN(2)].ID}})
					}
				default:
					tk, ok := pick(r, &tasks)
					if ok {
						s.Do(apptest.Req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/tasks/%d", tk), Token: team.Owner.Token, Org: org})
					}
				}
			}
		}()
	}
	wg.Wait()
	// A contact of its own, created and deleted, moves its owner's count both ways.
	c := id(as(team.Owner, 201, "POST", "/api/v1/contacts", map[string]any{"name": "Gone", "owner_id": team.Manager.ID}))
	as(team.Owner, 204, "DELETE", fmt.Sprintf("/api/v1/contacts/%d", c), nil)

	owner, manager := fmt.Sprint(team.Owner.ID), fmt.Sprint(team.Manager.ID)
	lists := map[string][]url.Values{
		"/api/v1/deals": {{}, {"status": {"won"}}, {"status": {"new", "in_progress"}}, {"stage": {"proposal"}}, {"stage": {"first"}},
			{"owner_id": {manager}}, {"pipeline_id": {fmt.Sprint(second)}}, {"pipeline_id": {fmt.Sprint(second)}, "stage": {"second"}},
			{"status": {"lost"}, "owner_id": {owner}}},
		"/api/v1/tasks":    {{}, {"only_open": {"true"}}, {"is_done": {"true"}}, {"assignee_id": {manager}}, {"assignee_id": {owner}, "is_done": {"false"}}},
		"/api/v1/contacts": {{}, {"owner_id": {manager}}},
	}
	for path, qs := range lists {
		for _, q := range qs {
			kept, capped := totalOf(t, s, team.Owner, org, path, cloneValues(q))
			exactQ := cloneValues(q)
			exactQ.Set("include_total", "exact")
			exact, _ := totalOf(t, s, team.Owner, org, path, exactQ)
			if kept != exact || capped {
				t.Errorf("%s?%s: total %v (capped %v), exact count %v", path, q.Encode(), kept, capped, exact)
			}
		}
	}
	// Row by row, every kept count is the number of live rows it stands for.
	ctx := database.WithTenant(context.Background(), org)
	for table, q := range map[string]string{
		"deal_counts": `SELECT count(*) FROM (
			SELECT pipeline_id, stage, status, owner_id, sum(n) AS n FROM deal_counts GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0) k
			FULL JOIN (SELECT pipeline_id, stage, status, owner_id, count(*) AS n FROM deals GROUP BY 1, 2, 3, 4) d
			USING (pipeline_id, stage, status, owner_id) WHERE k.n IS DISTINCT FROM d.n`,
		"deal_counts_org": `SELECT count(*) FROM (SELECT coalesce(sum(n), 0) AS n FROM deal_counts_org) k,
			(SELECT count(*) AS n FROM deals) d WHERE k.n <> d.n`,
		"task_counts": `SELECT count(*) FROM (
			SELECT assignee_id, is_done, sum(n) AS n FROM task_counts GROUP BY 1, 2 HAVING sum(n) <> 0) k
			FULL JOIN (SELECT coalesce(assignee_id, 0) AS assignee_id, is_done, count(*) AS n FROM tasks GROUP BY 1, 2) d
			USING (assignee_id, is_done) WHERE k.n IS DISTINCT FROM d.n`,
		"contact_counts": `SELECT count(*) FROM (
			SELECT owner_id, sum(n) AS n FROM contact_counts GROUP BY 1 HAVING sum(n) <> 0) k
			FULL JOIN (SELECT owner_id, count(*) AS n FROM contacts GROUP BY 1) d
			USING (owner_id) WHERE k.n IS DISTINCT FROM d.n`,
	} {
		var wrong int
		err := s.App.DB.WithinTx(ctx, func(ctx context.Context) error {
			return s.App.DB.Q(ctx).QueryRow(ctx, q).Scan(&wrong)
		})
		if err != nil || wrong != 0 {
			t.Errorf("%s: %d combinations differ from the rows (err %v)", table, wrong, err)
		}
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// Past 10,000 matches a filter the service keeps no count of reports 10000 with
// total_capped; include_total=exact counts them all; the unfiltered list stays exact (kept
// counts); a short list is counted exactly from its only page; include_total=false skips it.
func TestTotalsAreCappedPastTenThousandUnlessAskedExact(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	org := team.OrgID
	ctx := database.WithTenant(context.Background(), org)
	err := s.App.DB.WithinTx(ctx, func(ctx context.Context) error {
		_, err := s.App.DB.Q(ctx).Exec(ctx, `INSERT INTO contacts (organization_id, owner_id, name, company)
			SELECT $1, $2, 'Person ' || i, 'Acme' FROM generate_series(1, 10050) i`, org, team.Owner.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: team.Owner.Token, Org: org,
		Body: map[string]any{"name": "Unique Umbra", "owner_id": team.Member.ID}})

	cases := []struct {
		query  url.Values
		total  any
		capped bool
	}{
		{url.Values{"search": {"acme"}}, float64(10000), true},
		{url.Values{"search": {"acme"}, "include_total": {"exact"}}, float64(10050), false},
		{url.Values{}, float64(10051), false},
		{url.Values{"owner_id": {fmt.Sprint(team.Owner.ID)}}, float64(10050), false},
		{url.Values{"search": {"umbra"}}, float64(1), false},
		{url.Values{"search": {"acme"}, "include_total": {"false"}}, nil, false},
	}
	for _, c := range cases {
		total, capped := totalOf(t, s, team.Owner, org, "/api/v1/contacts", cloneValues(c.query))
		if total != c.total || capped != c.capped {
			t.Errorf("contacts?%s: total %v capped %v, want %v %v", c.query.Encode(), total, capped, c.total, c.capped)
		}
	}
	// A later page by offset past the cap still reports the capped total.
	body := s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts?search=acme&page=3&page_size=100",
		Token: team.Owner.Token, Org: org}).JSON()
	if body["total"] != float64(10000) || body["total_capped"] != true {
		t.Errorf("page 3: total %v capped %v", body["total"], body["total_capped"])
	}
	res := s.Do(apptest.Req{Method: "GET", Path: "/api/v1/contacts?include_total=maybe", Token: team.Owner.Token, Org: org})
	apptest.WantProblem(t, res, 400, "invalid_query")
}
