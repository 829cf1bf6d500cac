package deals_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mini-crm/crm/modules/deals"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/database"
)

// referenceVisitsSQL is the velocity's definition computed straight from the history: every
// finished visit (not in the trash) that ended at or after $3, with avg and percentile_cont.
// It is the statement the report ran before the read model.
const referenceVisitsSQL = `SELECT stage, count(*),
		round(avg(extract(epoch FROM left_at - entered_at)) * 1000000)::bigint,
		round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY left_at - entered_at)) * 1000000)::bigint
	FROM deal_stage_history WHERE organization_id = $1 AND pipeline_id = $2 AND left_at >= $3 AND NOT trashed
	GROUP BY stage ORDER BY stage`

// velocityEnv is a team's organization with two pipelines of the same stage keys.
type velocityEnv struct {
	env
	pipelines []int64
}

func newVelocityEnv(t *testing.T) velocityEnv {
	e := newEnv(t)
	def := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/pipelines", nil)["items"].([]any)[0].(map[string]any)
	second := e.must(http.StatusCreated, e.team.Owner, "POST", "/api/v1/pipelines", map[string]any{"name": "Second", "stages": []map[string]any{
		{"key": "qualification"}, {"key": "proposal"}, {"key": "negotiation"}, {"key": "closed"}}})
	return velocityEnv{env: e, pipelines: []int64{id(def), id(second)}}
}

// tenantExec runs stmt as the service's database role in the organization's scope.
func (e velocityEnv) tenantExec(stmt string, args ...any) error {
	ctx := database.WithTenant(context.Background(), e.team.OrgID)
	return e.App.DB.WithinTx(ctx, func(ctx context.Context) error {
		_, err := e.App.DB.Q(ctx).Exec(ctx, stmt, args...)
		return err
	})
}

// checkVelocity compares the read model's stage visits of both pipelines with the reference
// query, for the windows starting at each of sinces.
func (e velocityEnv) checkVelocity(t *testing.T, sinces []time.Time) {
	t.Helper()
	ctx := context.Background()
	for _, pl := range e.pipelines {
		for _, since := range sinces {
			got, err := deals.VelocityVisits(database.WithTenant(ctx, e.team.OrgID), e.App.DB, e.team.OrgID, pl, since)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(a, b dealsapi.StageVisits) int { return strings.Compare(a.Stage, b.Stage) })
			rows, err := e.sql.Query(ctx, referenceVisitsSQL, e.team.OrgID, pl, since)
			if err != nil {
				t.Fatal(err)
			}
			var want []dealsapi.StageVisits
			for rows.Next() {
				var v dealsapi.StageVisits
				var mean, median int64
				if err := rows.Scan(&v.Stage, &v.Visits, &mean, &median); err != nil {
					t.Fatal(err)
				}
				v.Mean, v.Median = time.Duration(mean)*time.Microsecond, time.Duration(median)*time.Microsecond
				want = append(want, v)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("pipeline %d since %s:\nread model %v\nhistory    %v", pl, since.Format(time.RFC3339Nano), got, want)
			}
		}
	}
}

// checkReadModel compares deal_visit_days with a recount from the history.
func (e velocityEnv) checkReadModel(t *testing.T) {
	t.Helper()
	rows := func(sql string) string {
		t.Helper()
		rs, err := e.sql.Query(context.Background(), sql, e.team.OrgID)
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
		return strings.Join(out, "\n")
	}
	// A row of the read model is spread over slots (one per writing connection): its sums
	// are what counts. The days and the months hold the same visits, per UTC day and month.
	for _, rm := range []struct{ table, unit, ofVisit string }{
		{"deal_visit_days", "day", "(left_at AT TIME ZONE 'UTC')::date::text"},
		{"deal_visit_months", "month", "to_char(left_at AT TIME ZONE 'UTC', 'YYYY-MM-01')"},
	} {
		got := rows(fmt.Sprintf(`SELECT pipeline_id, %s::text, stage, bucket, sum(visits)::bigint, sum(total_s)::text FROM %s
			WHERE organization_id = $1 GROUP BY 1, 2, 3, 4 HAVING sum(visits) <> 0 ORDER BY 1, 2, 3, 4`, rm.unit, rm.table))
		want := rows(fmt.Sprintf(`SELECT pipeline_id, %s, stage, deals_visit_bucket(entered_at, left_at), count(*),
				sum(extract(epoch FROM left_at - entered_at))::text
			FROM deal_stage_history WHERE organization_id = $1 AND left_at IS NOT NULL AND NOT trashed GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`, rm.ofVisit))
		if got != want {
			t.Fatalf("%s differs from the history\nread model:\n%s\nhistory:\n%s", rm.table, got, want)
		}
		if bad := rows(fmt.Sprintf(`SELECT pipeline_id, %s, stage, bucket, sum(visits), sum(total_s) FROM %s
			WHERE organization_id = $1 GROUP BY 1, 2, 3, 4
			HAVING sum(visits) < 0 OR (sum(visits) = 0 AND sum(total_s) <> 0)`, rm.unit, rm.table)); bad != "" {
			t.Fatalf("emptied rows of %s that still hold something:\n%s", rm.table, bad)
		}
	}
}

// bucketEdges are lengths at and around the bucket thresholds of deals_visit_bucket.
var bucketEdges = []time.Duration{0, time.Microsecond, time.Second - time.Microsecond, time.Second, time.Second + time.Microsecond,
	2 * time.Second, 431 * time.Second, 86400 * time.Second, 110218 * time.Second, 110218*time.Second - time.Microsecond,
	1048576 * time.Second, 1048576*time.Second + time.Microsecond, 24 * time.Hour, 36*time.Hour + 7*time.Microsecond}

// pastVisits inserts n finished visits of the given deals in one statement: lengths at the
// bucket thresholds, repeated ones (ties), and random ones up to 400 days to the
// microsecond; ends over the last 420 days, some at midnight UTC. It returns the ends.
func (e velocityEnv) pastVisits(rng *rand.Rand, now time.Time, dealIDs []int64, n int) ([]time.Time, error) {
	var ds, pls []int64
	var stages []string
	var entered, left []time.Time
	for range n {
		var length time.Duration
		switch r := rng.IntN(4); r {
		case 0:
			length = bucketEdges[rng.IntN(len(bucketEdges))]
		case 1:
			length = []time.Duration{time.Hour, 3 * 24 * time.Hour, 90 * time.Minute}[rng.IntN(3)]
		default:
			length = time.Duration(rng.Int64N(int64(400*24*time.Hour/time.Microsecond))) * time.Microsecond
		}
		end := now.Add(-time.Duration(rng.Int64N(int64(420*24*time.Hour/time.Microsecond))) * time.Microsecond)
		if rng.IntN(20) == 0 {
			end = end.UTC().Truncate(24 * time.Hour)
		}
		ds = append(ds, dealIDs[rng.IntN(len(dealIDs))])
		pls = append(pls, e.pipelines[rng.IntN(len(e.pipelines))])
		stages = append(stages, dealsapi.Stages[rng.IntN(len(dealsapi.Stages))])
		entered, left = append(entered, end.Add(-length)), append(left, end)
	}
	if err := e.tenantExec(`INSERT INTO deal_stage_history (organization_id, deal_id, pipeline_id, stage, entered_at, left_at)
		SELECT $1, d, p, s, en, le FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[], $6::timestamptz[]) AS u (d, p, s, en, le)`,
		e.team.OrgID, ds, pls, stages, entered, left); err != nil {
		return nil, err
	}
	return left, nil
}

// windowStarts are the window starts checked: the report's days, midnight UTC and just
// after, and visits' own ends (a visit that ended exactly at the start counts).
func windowStarts(now time.Time, ends []time.Time) []time.Time {
	out := []time.Time{now.Add(time.Minute)}
	for _, days := range []int{1, 2, 7, 30, 90, 365, 420} {
		out = append(out, now.Add(-time.Duration(days)*24*time.Hour))
	}
	midnight := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -10)
	out = append(out, midnight, midnight.Add(time.Microsecond), midnight.Add(-time.Microsecond))
	// Around month boundaries: a first day ending on the 1st (whole months only), early in a
	// month (its month less some days) and late in one (days up to the next month).
	y, m, _ := now.UTC().Date()
	for k := range 4 {
		first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, -k, 0)
		out = append(out, first, first.Add(-time.Microsecond), first.Add(time.Microsecond), first.AddDate(0, 0, 4).Add(time.Hour),
			first.AddDate(0, 0, 14).Add(-time.Hour), first.AddDate(0, 0, 15).Add(time.Hour), first.AddDate(0, 0, 24).Add(time.Hour))
	}
	for i := 0; i < len(ends); i += max(1, len(ends)/6) {
		out = append(out, ends[i], ends[i].Add(time.Microsecond))
	}
	return out
}

// The velocity read model reports exactly what the reference query over the history does
// (count, mean and percentile_cont median to the microsecond), for windows of any start:
// after visits of every length bucket, ties and threshold lengths were inserted, and after
// random concurrent creates (open or closed), stage moves forward and back, closes,
// reopens, pipeline changes, deletes (to the trash) and restores through the API, deletes
// for good in SQL, edits of visit times in SQL and setVisitsTrashed calls of their own. The
// read model itself equals a recount from the history.
func TestVelocityReadModelEqualsTheHistory(t *testing.T) {
	t.Parallel()
	e := newVelocityEnv(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	now := time.Now()

	var ids []int64
	for i := range 6 {
		ids = append(ids, id(e.deal(e.team.Owner, map[string]any{"pipeline_id": e.pipelines[i%2]})))
	}
	ends, err := e.pastVisits(rng, now, ids, 400)
	if err != nil {
		t.Fatal(err)
	}
	e.checkReadModel(t)
	e.checkVelocity(t, windowStarts(now, ends))

	// The trash takes a deal's finished visits out of the report and a restore puts back the
	// same report.
	ctx := context.Background()
	since := now.Add(-400 * 24 * time.Hour)
	before, err := deals.VelocityVisits(database.WithTenant(ctx, e.team.OrgID), e.App.DB, e.team.OrgID, e.pipelines[0], since)
	if err != nil {
		t.Fatal(err)
	}
	var inWindow int64
	if err := e.sql.QueryRow(ctx, `SELECT count(*) FROM deal_stage_history
		WHERE organization_id = $1 AND deal_id = $2 AND pipeline_id = $3 AND left_at >= $4`, e.team.OrgID, ids[0], e.pipelines[0], since).Scan(&inWindow); err != nil {
		t.Fatal(err)
	}
	if inWindow == 0 {
		t.Fatal("the deal has no visit in the window")
	}
	if err := deals.SetVisitsTrashed(ctx, e.App.DB, e.team.OrgID, ids[0], true); err != nil {
		t.Fatal(err)
	}
	trashed, err := deals.VelocityVisits(database.WithTenant(ctx, e.team.OrgID), e.App.DB, e.team.OrgID, e.pipelines[0], since)
	if err != nil {
		t.Fatal(err)
	}
	total := func(vs []dealsapi.StageVisits) (n int64) {
		for _, v := range vs {
			n += v.Visits
		}
		return n
	}
	if total(before)-total(trashed) != inWindow {
		t.Fatalf("the trash took %d visits out, want the deal's %d", total(before)-total(trashed), inWindow)
	}
	e.checkReadModel(t)
	e.checkVelocity(t, windowStarts(now, ends))
	if err := deals.SetVisitsTrashed(ctx, e.App.DB, e.team.OrgID, ids[0], false); err != nil {
		t.Fatal(err)
	}
	restored, err := deals.VelocityVisits(database.WithTenant(ctx, e.team.OrgID), e.App.DB, e.team.OrgID, e.pipelines[0], since)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(before, func(a, b dealsapi.StageVisits) int { return strings.Compare(a.Stage, b.Stage) })
	slices.SortFunc(restored, func(a, b dealsapi.StageVisits) int { return strings.Compare(a.Stage, b.Stage) })
	if fmt.Sprint(restored) != fmt.Sprint(before) {
		t.Fatalf("after the restore %v, before the trash %v", restored, before)
	}

	// Random concurrent writes.
	const workers, opsPerWorker = 4, 60
	var (
		mu  sync.Mutex
		ops = map[string]int{}
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w+1)))
			for range opsPerWorker {
				mu.Lock()
				target := ids[rng.IntN(len(ids))]
				mu.Unlock()
				var op string
				var err error
				status := 0
				switch r := rng.IntN(20); {
				case r < 3:
					op = "create"
					body := map[string]any{"contact_id": e.contact, "title": "Deal", "amount": "100.00",
						"status": dealsapi.Statuses[rng.IntN(len(dealsapi.Statuses))], "stage": dealsapi.Stages[rng.IntN(len(dealsapi.Stages))],
						"pipeline_id": e.pipelines[rng.IntN(2)]}
					res := e.as(e.team.Owner, "POST", "/api/v1/deals", body)
					status = res.Status
					if res.Status == http.StatusCreated {
						mu.Lock()
						ids = append(ids, id(res.JSON()))
						mu.Unlock()
					}
				case r < 13:
					body := map[string]any{}
					switch rng.IntN(4) {
					case 0:
						op, body["stage"] = "stage", dealsapi.Stages[rng.IntN(len(dealsapi.Stages))]
					case 1:
						op, body["status"] = "status", dealsapi.Statuses[rng.IntN(len(dealsapi.Statuses))]
					case 2:
						op, body["stage"], body["status"] = "stage and status", dealsapi.Stages[rng.IntN(len(dealsapi.Stages))], dealsapi.Statuses[rng.IntN(len(dealsapi.Statuses))]
					default:
						op, body["pipeline_id"] = "pipeline", e.pipelines[rng.IntN(2)]
					}
					status = e.as(e.team.Owner, "PATCH", dealPath(target), body).Status
				case r < 14:
					if rng.IntN(2) == 0 {
						op, status = "delete", e.as(e.team.Owner, "DELETE", dealPath(target), nil).Status
					} else {
						op, status = "restore", e.as(e.team.Owner, "POST", fmt.Sprintf("/api/v1/trash/deal/%d/restore", target), nil).Status
					}
				case r < 15:
					op = "delete for good"
					err = e.tenantExec(`DELETE FROM deals WHERE organization_id = $1 AND id = $2`, e.team.OrgID, target)
				case r < 17:
					op = "trash"
					err = deals.SetVisitsTrashed(context.Background(), e.App.DB, e.team.OrgID, target, rng.IntN(2) == 0)
				case r < 18:
					op = "edit times"
					shift := rng.Int64N(int64(300 * 24 * time.Hour / time.Microsecond))
					err = e.tenantExec(`UPDATE deal_stage_history SET entered_at = entered_at - make_interval(secs => $3::float8 / 1000000),
							left_at = left_at - make_interval(secs => $4::float8 / 1000000)
						WHERE organization_id = $1 AND deal_id = $2 AND left_at IS NOT NULL`,
						e.team.OrgID, target, shift, rng.Int64N(shift+1))
				default:
					op = "past visits"
					_, err = e.pastVisits(rng, now, []int64{target}, 1+rng.IntN(5))
				}
				if err != nil && database.PgCode(err) != database.CodeForeignKeyViolation {
					t.Errorf("%s of deal %d: %v", op, target, err)
					return
				}
				if status >= 500 {
					t.Errorf("%s of deal %d: status %d", op, target, status)
					return
				}
				mu.Lock()
				ops[fmt.Sprint(op, " ", status)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("operations: %v", ops)
	e.checkReadModel(t)
	e.checkVelocity(t, windowStarts(time.Now(), ends))
}
