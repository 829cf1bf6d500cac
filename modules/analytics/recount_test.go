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
// back, amount, currency), deletes (to the trash) and restores through the HTTP API, from several clients at once,
// across two organizations, and then compares the read model and both reports with a
// recount computed by SQL straight from the deals table.
func TestReadModelEqualsAFullRecount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team := e.NewTeam()
	orgs := []org{e.org(team.Owner, team.OrgID), e.org(team.Outsider, team.Outsider.OrgID)}

	// A second pipeline with the same stage keys and other probabilities, which deals move
	// to and from.
	pipelines := map[int64][]int64{}
	for _, o := range orgs {
		def := o.must(http.StatusOK, "GET", "/api/v1/pipelines", nil)["items"].([]any)[0].(map[string]any)
		second := o.must(http.StatusCreated, "POST", "/api/v1/pipelines", map[string]any{"name": "Second", "stages": []map[string]any{
			{"key": "qualification", "probability": 5}, {"key": "proposal", "probability": 25},
			{"key": "negotiation", "probability": 55}, {"key": "closed", "probability": 95}}})
		pipelines[o.id] = []int64{id(def), id(second)}
	}

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
					if rng.IntN(3) == 0 {
						body["pipeline_id"] = pipelines[o.id][rng.IntN(2)]
					}
					res := o.do("POST", "/api/v1/deals", body)
					if res.Status != http.StatusCreated {
						t.Errorf("create %v: %d %s", body, res.Status, res.Body)
						return
					}
					mu.Lock()
					deals[o.id] = append(deals[o.id], id(res.JSON()))
					ops["create"]++
					mu.Unlock()
				case r < 8:
					body := randomFacts(rng, false)
					if rng.IntN(6) == 0 {
						body["pipeline_id"] = pipelines[o.id][rng.IntN(2)]
					}
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
				case r == 9:
					// Back from the trash, when it is there.
					res := o.do("POST", "/api/v1/trash/deal/"+itoa(target)+"/restore", nil)
					if res.Status != http.StatusOK && res.Status != http.StatusNotFound {
						t.Errorf("restore: %d %s", res.Status, res.Body)
						return
					}
					mu.Lock()
					ops[fmt.Sprint("restore ", res.Status)]++
					mu.Unlock()
				default:
					// To the trash.
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
		// Expected close dates within a year either side, or none; overrides, or none.
		if (all && rng.IntN(4) > 0) || (!all && rng.IntN(4) == 0) {
			if rng.IntN(5) == 0 {
				body["expected_close_date"] = nil
			} else {
				body["expected_close_date"] = time.Now().UTC().AddDate(0, 0, rng.IntN(730)-365).Format(time.DateOnly)
			}
		}
		if (all && rng.IntN(3) == 0) || (!all && rng.IntN(5) == 0) {
			if rng.IntN(4) == 0 {
				body["probability"] = nil
			} else {
				body["probability"] = rng.IntN(101)
			}
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
		rows(`SELECT pipeline_id, status, stage, max_stage, currency, sum(deals)::bigint, sum(amount)::text FROM analytics_deal_totals
			WHERE organization_id = $1 GROUP BY 1, 2, 3, 4, 5 HAVING sum(deals) <> 0 ORDER BY 1, 2, 3, 4, 5`, o.id),
		rows(`SELECT pipeline_id, status, stage, max_stage, currency, count(*), sum(amount)::text
			FROM deals WHERE deleted_at IS NULL AND organization_id = $1 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`, o.id))
	same("emptied rows that still hold something",
		rows(`SELECT status, stage, max_stage, currency, sum(deals), sum(amount) FROM analytics_deal_totals
			WHERE organization_id = $1 GROUP BY pipeline_id, 1, 2, 3, 4 HAVING sum(deals) < 0 OR (sum(deals) = 0 AND sum(amount) <> 0)`, o.id), nil)
	same("daily creations",
		rows(`SELECT day::text, sum(deals)::bigint FROM analytics_deals_created WHERE organization_id = $1 GROUP BY 1 HAVING sum(deals) <> 0 ORDER BY 1`, o.id),
		rows(`SELECT (created_at AT TIME ZONE 'UTC')::date::text, count(*) FROM deals WHERE deleted_at IS NULL AND organization_id = $1 GROUP BY 1 ORDER BY 1`, o.id))
	same("daily creations below zero",
		rows(`SELECT day::text, sum(deals) FROM analytics_deals_created WHERE organization_id = $1 GROUP BY 1 HAVING sum(deals) < 0`, o.id), nil)

	for _, days := range []int{1, 30, 365} {
		got := o.report(fmt.Sprintf("%s?days=%d", summaryPath, days)).Body
		sameJSON(t, got, e.recountSummary(t, o.id, days))
	}
	sameJSON(t, o.report(funnelPath).Body, e.recountFunnel(t, o.id))

	same("open deals",
		rows(`SELECT pipeline_id, month::text, stage, currency, overridden, sum(deals)::bigint, sum(amount)::text, sum(amount_prob)::text FROM analytics_deals_open
			WHERE organization_id = $1 GROUP BY 1, 2, 3, 4, 5 HAVING sum(deals) <> 0 ORDER BY 1, 2, 3, 4, 5`, o.id),
		rows(`SELECT pipeline_id, coalesce(date_trunc('month', expected_close_date)::date, 'infinity')::text, stage, currency,
				probability IS NOT NULL, count(*), sum(amount)::text, coalesce(sum(amount * probability), 0)::numeric(33,2)::text
			FROM deals WHERE deleted_at IS NULL AND organization_id = $1 AND status IN ('new', 'in_progress') GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`, o.id))
	same("won deals",
		rows(`SELECT pipeline_id, day::text, currency, sum(deals)::bigint, sum(amount)::text, sum(to_win_us)::text FROM analytics_deals_won
			WHERE organization_id = $1 GROUP BY 1, 2, 3 HAVING sum(deals) <> 0 ORDER BY 1, 2, 3`, o.id),
		rows(`SELECT pipeline_id, (closed_at AT TIME ZONE 'UTC')::date::text, currency, count(*), sum(amount)::text,
				sum(extract(epoch FROM closed_at - created_at) * 1000000)::numeric(40,0)::text
			FROM deals WHERE deleted_at IS NULL AND organization_id = $1 AND status = 'won' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, o.id))
	same("emptied forecast rows that still hold something",
		rows(`SELECT 'open', sum(deals) FROM analytics_deals_open WHERE organization_id = $1
				GROUP BY pipeline_id, month, stage, currency, overridden
				HAVING sum(deals) < 0 OR (sum(deals) = 0 AND (sum(amount) <> 0 OR sum(amount_prob) <> 0))
			UNION ALL SELECT 'won', sum(deals) FROM analytics_deals_won WHERE organization_id = $1
				GROUP BY pipeline_id, day, currency HAVING sum(deals) < 0 OR (sum(deals) = 0 AND (sum(amount) <> 0 OR sum(to_win_us) <> 0))
			UNION ALL SELECT 'paths', sum(deals) FROM analytics_deal_paths WHERE organization_id = $1
				GROUP BY pipeline_id, stages HAVING sum(deals) < 0`, o.id), nil)
	same("stages visited",
		rows(`SELECT pipeline_id, stages::text, sum(deals)::bigint FROM analytics_deal_paths WHERE organization_id = $1 GROUP BY 1, 2 HAVING sum(deals) <> 0 ORDER BY 1, 2`, o.id),
		rows(`SELECT pipeline_id, stages::text, count(*) FROM (
				SELECT d.pipeline_id, array_agg(DISTINCT h.stage COLLATE "C" ORDER BY h.stage COLLATE "C") AS stages
				FROM deals d JOIN deal_stage_history h ON h.organization_id = d.organization_id AND h.deal_id = d.id AND h.pipeline_id = d.pipeline_id
				WHERE d.organization_id = $1 AND d.deleted_at IS NULL GROUP BY d.id, d.pipeline_id) v
			GROUP BY 1, 2 ORDER BY 1, 2`, o.id))

	from := time.Now().UTC().AddDate(-1, 0, 0)
	path := fmt.Sprintf("%s?from=%s&months=24", forecastPath, from.Format("2006-01"))
	sameJSON(t, o.report(path).Body, e.recountForecast(t, o.id, from))
	e.checkVelocityWon(t, o)
}

// recountForecast computes the forecast of orgID over 24 months from the month of from (UTC)
// from its deals, by SQL alone.
func (e env) recountForecast(t *testing.T, orgID int64, from time.Time) string {
	t.Helper()
	start := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	type totals struct {
		Count    int               `json:"count"`
		Amount   map[string]string `json:"amount"`
		Weighted map[string]string `json:"weighted"`
	}
	type wonTotals struct {
		Count  int               `json:"count"`
		Amount map[string]string `json:"amount"`
	}
	type month struct {
		Month string    `json:"month"`
		Open  totals    `json:"open"`
		Won   wonTotals `json:"won"`
	}
	months := make([]month, 24)
	at := map[string]int{}
	for i := range months {
		m := start.AddDate(0, i, 0).Format("2006-01")
		months[i] = month{Month: m, Open: totals{Amount: map[string]string{}, Weighted: map[string]string{}}, Won: wonTotals{Amount: map[string]string{}}}
		at[m] = i
	}
	noDate := totals{Amount: map[string]string{}, Weighted: map[string]string{}}
	rs, err := e.sql.Query(context.Background(), `
		SELECT coalesce(to_char(expected_close_date, 'YYYY-MM'), ''), currency, count(*), sum(amount)::text,
			round(sum(amount * coalesce(probability, pipelines_stage_probability(organization_id, pipeline_id, stage), 0)) / 100, 2)::text
		FROM deals WHERE deleted_at IS NULL AND organization_id = $1 AND status IN ('new', 'in_progress') GROUP BY 1, 2`, orgID)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var m, cur, amount, weighted string
		var n int
		if err := rs.Scan(&m, &cur, &n, &amount, &weighted); err != nil {
			t.Fatal(err)
		}
		tot := &noDate
		if m != "" {
			i, ok := at[m]
			if !ok {
				continue
			}
			tot = &months[i].Open
		}
		tot.Count += n
		tot.Amount[cur], tot.Weighted[cur] = amount, weighted
	}
	rs.Close()
	rs, err = e.sql.Query(context.Background(), `
		SELECT to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM'), currency, count(*), sum(amount)::text
		FROM deals WHERE deleted_at IS NULL AND organization_id = $1 AND status = 'won' GROUP BY 1, 2`, orgID)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var m, cur, amount string
		var n int
		if err := rs.Scan(&m, &cur, &n, &amount); err != nil {
			t.Fatal(err)
		}
		if i, ok := at[m]; ok {
			months[i].Won.Count += n
			months[i].Won.Amount[cur] = amount
		}
	}
	rs.Close()
	b, _ := json.Marshal(map[string]any{"months": months, "no_close_date": noDate})
	return string(b)
}

// checkVelocityWon compares the velocity report's won deals of both pipelines with SQL over
// the deals, for windows of 1 and 365 days.
func (e env) checkVelocityWon(t *testing.T, o org) {
	t.Helper()
	pls := o.must(http.StatusOK, "GET", "/api/v1/pipelines", nil)["items"].([]any)
	for _, p := range pls {
		pl := id(p.(map[string]any))
		for _, days := range []int{1, 365} {
			got := o.report(fmt.Sprintf("%s?pipeline_id=%d&days=%d", velocityPath, pl, days)).JSON()["won"]
			var n int
			var avg *string
			if err := e.sql.QueryRow(context.Background(), `
				SELECT count(*), (round(avg(extract(epoch FROM closed_at - created_at)) / 86400, 1))::text FROM deals
				WHERE deleted_at IS NULL AND organization_id = $1 AND pipeline_id = $2 AND status = 'won' AND closed_at >= now() - make_interval(days => $3)`,
				o.id, pl, days).Scan(&n, &avg); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(map[string]any{"deals": n, "average_days_to_win": number(t, avg)})
			g, _ := json.Marshal(got)
			sameJSON(t, g, string(b))
		}
	}
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
		WHERE deleted_at IS NULL AND organization_id = $1 GROUP BY 1, 2`, orgID)
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
		WHERE deleted_at IS NULL AND organization_id = $1 AND status = 'won' GROUP BY 1`, orgID)
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
		      FROM deals WHERE deleted_at IS NULL AND organization_id = $1) x`, orgID).Scan(&winRate); err != nil {
		t.Fatal(err)
	}
	if err := e.sql.QueryRow(ctx, `SELECT count(*) FROM deals WHERE deleted_at IS NULL AND organization_id = $1 AND created_at >= now() - make_interval(days => $2)`,
		orgID, days).Scan(&newDeals); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"by_status": byStatus, "won_average_amount": avg, "win_rate": number(t, winRate),
		"new_deals": map[string]any{"days": days, "count": newDeals}}
	b, _ := json.Marshal(out)
	return string(b)
}

// recountFunnel computes the funnel of orgID's default pipeline (its part-1 stages) from its
// deals and their stage history in that pipeline, by SQL alone.
func (e env) recountFunnel(t *testing.T, orgID int64) string {
	t.Helper()
	rs, err := e.sql.Query(context.Background(), `
		WITH s (n, name) AS (VALUES (1, 'qualification'), (2, 'proposal'), (3, 'negotiation'), (4, 'closed')),
		d AS (SELECT * FROM deals WHERE deleted_at IS NULL AND organization_id = $1 AND pipeline_id = pipelines_default_id($1)),
		far AS (
			SELECT d.id, max(s.n) AS n
			FROM d JOIN deal_stage_history h ON h.organization_id = $1 AND h.deal_id = d.id AND h.pipeline_id = d.pipeline_id
			JOIN s ON s.name = h.stage
			GROUP BY d.id),
		f AS (
			SELECT s.n, s.name,
				count(d.id) FILTER (WHERE d.stage = s.name) AS cnt,
				count(d.id) FILTER (WHERE d.stage = s.name AND d.status = 'new') AS nw,
				count(d.id) FILTER (WHERE d.stage = s.name AND d.status = 'in_progress') AS ip,
				count(d.id) FILTER (WHERE d.stage = s.name AND d.status = 'won') AS won,
				count(d.id) FILTER (WHERE d.stage = s.name AND d.status = 'lost') AS lost,
				(SELECT count(*) FROM far WHERE far.n >= s.n) AS reached
			FROM s LEFT JOIN d ON true
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
