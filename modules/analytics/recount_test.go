package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
)

// TestReadModelEqualsAFullRecount drives random creates, updates (status, stage forward and
// back, amount, currency) and deletes through the HTTP API, from several clients at once,
// across two organizations, and then compares the read model and both reports with a
// recount computed by SQL straight from the deals table.
func TestReadModelEqualsAFullRecount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team := e.NewTeam()
	orgs := []org{e.org(team.Owner, team.OrgID), e.org(team.Outsider, team.Outsider.OrgID)}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	const workers, opsPerWorker = 4, 80
	var (
		mu    sync.Mutex
		deals = map[int64][]int64{} // org → ids of deals created (some since deleted)
		ops   = map[string]int{}
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for range opsPerWorker {
				o := orgs[rng.IntN(len(orgs))]
				mu.Lock()
				ids := deals[o.id]
				var target int64
				if len(ids) > 0 {
					target = ids[rng.IntN(len(ids))]
				}
				mu.Unlock()
				r := rng.IntN(10)
				switch {
				case r < 3 || target == 0:
					body := randomFacts(rng, true)
					body["contact_id"], body["title"] = o.contact, "Deal"
					res := o.do("POST", "/api/v1/deals", body)
					if res.Status != http.StatusCreated {
						t.Errorf("create %v: %d %s", body, res.Status, res.Body)
						return
					}
					mu.Lock()
					deals[o.id] = append(deals[o.id], id(res.JSON()))
					ops["create"]++
					mu.Unlock()
				case r < 9:
					body := randomFacts(rng, false)
					res := o.do("PATCH", "/api/v1/deals/"+itoa(target), body)
					switch {
					case res.Status == http.StatusOK, res.Status == http.StatusNotFound,
						res.Status == http.StatusBadRequest && res.Code() == "won_requires_positive_amount":
					default:
						t.Errorf("update %v: %d %s", body, res.Status, res.Body)
						return
					}
					mu.Lock()
					ops[fmt.Sprint("update ", res.Status)]++
					mu.Unlock()
				default:
					res := o.do("DELETE", "/api/v1/deals/"+itoa(target), nil)
					if res.Status != http.StatusNoContent && res.Status != http.StatusNotFound {
						t.Errorf("delete: %d %s", res.Status, res.Body)
						return
					}
					mu.Lock()
					ops[fmt.Sprint("delete ", res.Status)]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("operations: %v", ops)

	for _, o := range orgs {
		e.checkRecount(t, o)
	}
}

var currencies = []string{"USD", "EUR", "GBP"}

// randomFacts returns random values for the facts analytics follows: all of them for a
// create, a random non-empty subset for a patch.
func randomFacts(rng *rand.Rand, all bool) map[string]any {
	body := map[string]any{}
	for len(body) == 0 {
		if all || rng.IntN(2) == 0 {
			body["status"] = dealsapi.Statuses[rng.IntN(len(dealsapi.Statuses))]
		}
		if all || rng.IntN(2) == 0 {
			body["stage"] = dealsapi.Stages[rng.IntN(len(dealsapi.Stages))]
		}
		if all || rng.IntN(3) == 0 {
			switch rng.IntN(10) {
			case 0:
				body["amount"] = "0"
			case 1:
				body["amount"] = "999999999999.99"
			default:
				body["amount"] = fmt.Sprintf("%d.%02d", rng.IntN(100000), rng.IntN(100))
			}
		}
		if (all && rng.IntN(4) > 0) || (!all && rng.IntN(3) == 0) {
			body["currency"] = currencies[rng.IntN(len(currencies))]
		}
		if !all && rng.IntN(5) == 0 {
			body["title"] = fmt.Sprint("Title ", rng.IntN(1000))
		}
	}
	if all && body["status"] == dealsapi.StatusWon && body["amount"] == "0" {
		body["amount"] = "1.00"
	}
	return body
}

// checkRecount compares the organization's read model and reports with what SQL computes
// from its deals.
func (e env) checkRecount(t *testing.T, o org) {
	t.Helper()
	ctx := context.Background()
	rows := func(sql string, args ...any) []string {
		t.Helper()
		rs, err := e.sql.Query(ctx, sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			vals, err := rs.Values()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := func(what string, got, want []string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("org %d: %s differ\nread model %v\nrecount    %v", o.id, what, got, want)
		}
	}
	same("deal totals",
		rows(`SELECT pipeline_id, status, stage, max_stage, currency, deals, amount::text FROM analytics_deal_totals
			WHERE organization_id = $1 AND deals <> 0 ORDER BY 1, 2, 3, 4, 5`, o.id),
		rows(`SELECT pipeline_id, status, stage, max_stage, currency, count(*), sum(amount)::text
			FROM deals WHERE organization_id = $1 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`, o.id))
	same("emptied rows that still hold something",
		rows(`SELECT status, stage, max_stage, currency, deals, amount FROM analytics_deal_totals
			WHERE organization_id = $1 AND (deals < 0 OR (deals = 0 AND amount <> 0))`, o.id), nil)
	same("daily creations",
		rows(`SELECT day::text, deals FROM analytics_deals_created WHERE organization_id = $1 AND deals <> 0 ORDER BY 1`, o.id),
		rows(`SELECT (created_at AT TIME ZONE 'UTC')::date::text, count(*) FROM deals WHERE organization_id = $1 GROUP BY 1 ORDER BY 1`, o.id))
	same("daily creations below zero",
		rows(`SELECT day::text, deals FROM analytics_deals_created WHERE organization_id = $1 AND deals < 0`, o.id), nil)

	for _, days := range []int{1, 30, 365} {
		got := o.report(fmt.Sprintf("%s?days=%d", summaryPath, days)).Body
		sameJSON(t, got, e.recountSummary(t, o.id, days))
	}
	sameJSON(t, o.report(funnelPath).Body, e.recountFunnel(t, o.id))
}

// recountSummary computes the summary of orgID from its deals, by SQL alone.
func (e env) recountSummary(t *testing.T, orgID int64, days int) string {
	t.Helper()
	ctx := context.Background()
	byStatus := map[string]map[string]any{}
	for _, s := range dealsapi.Statuses {
		byStatus[s] = map[string]any{"count": 0, "amount": map[string]string{}}
	}
	rs, err := e.sql.Query(ctx, `SELECT status, currency, count(*), sum(amount)::text FROM deals
		WHERE organization_id = $1 GROUP BY 1, 2`, orgID)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var status, currency, sum string
		var n int
		if err := rs.Scan(&status, &currency, &n, &sum); err != nil {
			t.Fatal(err)
		}
		byStatus[status]["count"] = byStatus[status]["count"].(int) + n
		byStatus[status]["amount"].(map[string]string)[currency] = sum
	}
	rs.Close()
	avg := map[string]string{}
	rs, err = e.sql.Query(ctx, `SELECT currency, round(sum(amount) / count(*), 2)::text FROM deals
		WHERE organization_id = $1 AND status = 'won' GROUP BY 1`, orgID)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var currency, v string
		if err := rs.Scan(&currency, &v); err != nil {
			t.Fatal(err)
		}
		avg[currency] = v
	}
	rs.Close()
	var winRate *string
	var newDeals int
	if err := e.sql.QueryRow(ctx, `SELECT CASE WHEN won + lost = 0 THEN NULL ELSE round(100.0 * won / (won + lost), 1)::text END
		FROM (SELECT count(*) FILTER (WHERE status = 'won') AS won, count(*) FILTER (WHERE status = 'lost') AS lost
		      FROM deals WHERE organization_id = $1) x`, orgID).Scan(&winRate); err != nil {
		t.Fatal(err)
	}
	if err := e.sql.QueryRow(ctx, `SELECT count(*) FROM deals WHERE organization_id = $1 AND created_at >= now() - make_interval(days => $2)`,
		orgID, days).Scan(&newDeals); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"by_status": byStatus, "won_average_amount": avg, "win_rate": number(t, winRate),
		"new_deals": map[string]any{"days": days, "count": newDeals}}
	b, _ := json.Marshal(out)
	return string(b)
}

// recountFunnel computes the funnel of orgID from its deals, by SQL alone.
func (e env) recountFunnel(t *testing.T, orgID int64) string {
	t.Helper()
	rs, err := e.sql.Query(context.Background(), `
		WITH s (n, name) AS (VALUES (1, 'qualification'), (2, 'proposal'), (3, 'negotiation'), (4, 'closed')),
		f AS (
			SELECT s.n, s.name,
				count(d.id) FILTER (WHERE d.stage = s.name) AS cnt,
				count(d.id) FILTER (WHERE d.stage = s.name AND d.status = 'new') AS nw,
				count(d.id) FILTER (WHERE d.stage = s.name AND d.status = 'in_progress') AS ip,
				count(d.id) FILTER (WHERE d.stage = s.name AND d.status = 'won') AS won,
				count(d.id) FILTER (WHERE d.stage = s.name AND d.status = 'lost') AS lost,
				count(d.id) FILTER (WHERE d.max_stage >= s.n) AS reached
			FROM s LEFT JOIN deals d ON d.organization_id = $1
			GROUP BY s.n, s.name)
		SELECT name, cnt, nw, ip, won, lost, reached,
			(CASE WHEN n = 1 OR lag(reached) OVER (ORDER BY n) = 0 THEN NULL
			      ELSE round(100.0 * reached / lag(reached) OVER (ORDER BY n), 1) END)::text
		FROM f ORDER BY n`, orgID)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var stages []map[string]any
	for rs.Next() {
		var name string
		var cnt, nw, ip, won, lost, reached int
		var conv *string
		if err := rs.Scan(&name, &cnt, &nw, &ip, &won, &lost, &reached, &conv); err != nil {
			t.Fatal(err)
		}
		stages = append(stages, map[string]any{"stage": name, "count": cnt, "reached": reached,
			"by_status":                map[string]int{"new": nw, "in_progress": ip, "won": won, "lost": lost},
			"conversion_from_previous": number(t, conv)})
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"stages": stages})
	return string(b)
}

// number turns SQL's decimal text into a JSON number, nil into null.
func number(t *testing.T, s *string) any {
	t.Helper()
	if s == nil {
		return nil
	}
	f, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
