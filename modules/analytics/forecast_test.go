package analytics_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	forecastPath = "/api/v1/analytics/deals/forecast"
	velocityPath = "/api/v1/analytics/deals/velocity"
)

// sql runs a statement as the database owner, to set what the API keeps read only (stage
// history times, closed_at).
func (e env) exec(stmt string, args ...any) {
	e.T.Helper()
	if _, err := e.sql.Exec(context.Background(), stmt, args...); err != nil {
		e.T.Fatalf("%s: %v", stmt, err)
	}
}

// The forecast lists every month of the range, zero-filled: open deals by expected close
// month with amounts and weighted amounts per currency (never added across currencies; the
// weighted sum exact, rounded once), won deals by the month they closed, and the open deals
// without a date apart. Lost deals and deals outside the range count nowhere.
func TestForecast(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.newOrg("Forecast")
	now := time.Now().UTC()
	month := func(n int) time.Time {
		return time.Date(now.Year(), now.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	}
	date := func(n, day int) string { return month(n).AddDate(0, 0, day-1).Format(time.DateOnly) }

	// This month: three deals of 0.05 at 10 % (qualification): exactly 0.015, rounded once
	// to 0.02 (rounding each deal would give 0.03), and one in EUR with an override.
	for range 3 {
		o.deal(map[string]any{"amount": "0.05", "expected_close_date": date(0, 1)})
	}
	o.deal(map[string]any{"amount": "1000.00", "currency": "EUR", "probability": 45, "expected_close_date": date(0, 28)})
	// Next month: proposal (30 %) in progress.
	o.deal(map[string]any{"amount": "200.00", "stage": "proposal", "status": "in_progress", "expected_close_date": date(1, 15)})
	// Won and lost this month; won deals count under won whatever their expected date.
	won := o.deal(map[string]any{"amount": "70.00", "expected_close_date": date(-3, 2)})
	o.patch(won, map[string]any{"status": "won"})
	lost := o.deal(map[string]any{"amount": "80.00", "expected_close_date": date(0, 3)})
	o.patch(lost, map[string]any{"status": "lost"})
	// Outside the range, and without a date.
	o.deal(map[string]any{"amount": "5.00", "expected_close_date": date(-1, 28)})
	o.deal(map[string]any{"amount": "9.00", "expected_close_date": date(2, 1)})
	o.deal(map[string]any{"amount": "500.00", "currency": "EUR", "probability": 33})
	o.deal(map[string]any{"amount": "0.01"})

	got := o.report(forecastPath + "?months=2").Body
	sameJSON(t, got, fmt.Sprintf(`{"months": [
		{"month": %q,
		 "open": {"count": 4, "amount": {"USD": "0.15", "EUR": "1000.00"}, "weighted": {"USD": "0.02", "EUR": "450.00"}},
		 "won": {"count": 1, "amount": {"USD": "70.00"}}},
		{"month": %q,
		 "open": {"count": 1, "amount": {"USD": "200.00"}, "weighted": {"USD": "60.00"}},
		 "won": {"count": 0, "amount": {}}}
	], "no_close_date": {"count": 2, "amount": {"EUR": "500.00", "USD": "0.01"}, "weighted": {"EUR": "165.00", "USD": "0.00"}}}`,
		month(0).Format("2006-01"), month(1).Format("2006-01")))

	// The default range is six months from the current one; an explicit from moves it.
	months := o.report(forecastPath).JSON()["months"].([]any)
	if len(months) != 6 || months[0].(map[string]any)["month"] != month(0).Format("2006-01") {
		t.Fatalf("default range: %v", months)
	}
	sameJSON(t, o.report(forecastPath+"?months=1&from="+month(-1).Format("2006-01")).Body, fmt.Sprintf(`{"months": [
		{"month": %q, "open": {"count": 1, "amount": {"USD": "5.00"}, "weighted": {"USD": "0.50"}}, "won": {"count": 0, "amount": {}}}
	], "no_close_date": {"count": 2, "amount": {"EUR": "500.00", "USD": "0.01"}, "weighted": {"EUR": "165.00", "USD": "0.00"}}}`,
		month(-1).Format("2006-01")))
}

// forecast of one pipeline covers its deals only; without pipeline_id every pipeline.
func TestForecastOfOnePipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.newOrg("Pipelines")
	pl := id(o.must(http.StatusCreated, "POST", "/api/v1/pipelines", map[string]any{"name": "Hiring",
		"stages": []map[string]any{{"key": "screen", "probability": 50}}}))
	when := time.Now().UTC().Format(time.DateOnly)
	o.deal(map[string]any{"amount": "10.00", "expected_close_date": when})
	o.deal(map[string]any{"amount": "20.00", "expected_close_date": when, "pipeline_id": pl})
	open := func(path string) string {
		t.Helper()
		m := o.report(path).JSON()["months"].([]any)[0].(map[string]any)["open"].(map[string]any)
		return fmt.Sprint(m["count"], m["amount"], m["weighted"])
	}
	if got := open(forecastPath + "?months=1"); got != "2 map[USD:30.00] map[USD:11.00]" {
		t.Fatalf("every pipeline: %s", got)
	}
	if got := open(fmt.Sprintf("%s?months=1&pipeline_id=%d", forecastPath, pl)); got != "1 map[USD:20.00] map[USD:10.00]" {
		t.Fatalf("one pipeline: %s", got)
	}
	if res := e.newOrg("Other").do("GET", fmt.Sprintf("%s?pipeline_id=%d", forecastPath, pl), nil); res.Status != http.StatusNotFound || res.Code() != "pipeline_not_found" {
		t.Fatalf("foreign pipeline: %d %s", res.Status, res.Body)
	}
}

// Every invalid parameter is reported at once; unknown ones are refused.
func TestForecastAndVelocityParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.newOrg("Params")
	fields := func(path string) []string {
		t.Helper()
		res := o.do("GET", path, nil)
		if res.Status != http.StatusBadRequest {
			t.Fatalf("%s: %d %s", path, res.Status, res.Body)
		}
		var out []string
		if res.Code() == "unknown_parameter" {
			return []string{"unknown_parameter"}
		}
		if res.Code() != "invalid_query" {
			t.Fatalf("%s: code %s", path, res.Body)
		}
		for _, f := range res.JSON()["errors"].([]any) {
			out = append(out, f.(map[string]any)["field"].(string))
		}
		slices.Sort(out)
		return out
	}
	for path, want := range map[string]string{
		forecastPath + "?pipeline_id=x&from=2026-13&months=0": "from months pipeline_id",
		forecastPath + "?months=25":                           "months",
		forecastPath + "?months=-1":                           "months",
		forecastPath + "?from=2026-1":                         "from",
		forecastPath + "?from=2026-01-01":                     "from",
		forecastPath + "?days=30":                             "unknown_parameter",
		velocityPath + "?pipeline_id=0&days=366":              "days pipeline_id",
		velocityPath + "?days=0":                              "days",
		velocityPath + "?days=x":                              "days",
		velocityPath + "?months=2":                            "unknown_parameter",
	} {
		if got := strings.Join(fields(path), " "); got != want {
			t.Errorf("%s: fields %q, want %q", path, got, want)
		}
	}
	for _, path := range []string{forecastPath + "?from=2026-01&months=24&pipeline_id=", forecastPath + "?months=1",
		velocityPath + "?days=365", velocityPath + "?days=1"} {
		o.report(path)
	}
	if res := o.do("GET", velocityPath+"?pipeline_id=999999999", nil); res.Status != http.StatusNotFound || res.Code() != "pipeline_not_found" {
		t.Fatalf("unknown pipeline: %d %s", res.Status, res.Body)
	}
}

// Velocity reads the visits that ended within the window, per stage of the pipeline in its
// current order (a stage without visits: 0 and null), one decimal, and the deals won in the
// window from creation to closing. Leaving a stage by winning or losing ends its visit.
func TestVelocity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.newOrg("Velocity")
	sameJSON(t, o.report(velocityPath).Body, `{"stages": [
		{"stage": "qualification", "visits": 0, "average_days": null, "median_days": null},
		{"stage": "proposal", "visits": 0, "average_days": null, "median_days": null},
		{"stage": "negotiation", "visits": 0, "average_days": null, "median_days": null},
		{"stage": "closed", "visits": 0, "average_days": null, "median_days": null}
	], "won": {"deals": 0, "average_days_to_win": null}}`)
	// Three deals leave qualification for proposal, one is lost at qualification, one stays.
	var moved []int64
	for range 3 {
		d := o.deal(nil)
		o.patch(d, map[string]any{"stage": "proposal"})
		moved = append(moved, d)
	}
	lost := o.deal(nil)
	o.patch(lost, map[string]any{"status": "lost"})
	o.deal(nil)
	won := moved[0]
	o.patch(won, map[string]any{"status": "won"})
	visits := func() string {
		t.Helper()
		var out string
		for _, st := range o.report(velocityPath).JSON()["stages"].([]any) {
			out += fmt.Sprint(st.(map[string]any)["visits"], " ")
		}
		return out
	}
	// Losing ends the visit of qualification, winning the one of proposal.
	if got := visits(); got != "4 1 0 0 " {
		t.Fatalf("visits %q", got)
	}
	// Visit lengths: qualification 1, 2 and 4 days and the lost one 0.5 days ago 10 days long;
	// one of them ended 100 days ago, outside the window of 90 days.
	now := time.Now()
	set := func(deal int64, stage string, enteredDaysAgo, leftDaysAgo float64) {
		e.exec(`UPDATE deal_stage_history SET entered_at = $1, left_at = $2 WHERE organization_id = $3 AND deal_id = $4 AND stage = $5`,
			now.Add(-time.Duration(enteredDaysAgo*24*float64(time.Hour))), now.Add(-time.Duration(leftDaysAgo*24*float64(time.Hour))),
			o.id, deal, stage)
	}
	set(moved[0], "qualification", 11, 10)
	set(moved[1], "qualification", 12, 10)
	set(moved[2], "qualification", 104, 100)
	set(lost, "qualification", 10.5, 0.5)
	set(moved[0], "proposal", 10, 3)
	e.exec(`UPDATE deals SET created_at = $1, closed_at = $2 WHERE organization_id = $3 AND id = $4`,
		now.Add(-11*24*time.Hour), now.Add(-3*24*time.Hour), o.id, won)
	// Writes that bypass the deals module are followed by a recount of the read model (as
	// after the seeder's); a deal write then drops the cached report (its open visit counts
	// nowhere).
	e.exec(`SELECT analytics_recount($1)`, o.id)
	o.deal(nil)

	sameJSON(t, o.report(velocityPath).Body, `{"stages": [
		{"stage": "qualification", "visits": 3, "average_days": 4.3, "median_days": 2.0},
		{"stage": "proposal", "visits": 1, "average_days": 7.0, "median_days": 7.0},
		{"stage": "negotiation", "visits": 0, "average_days": null, "median_days": null},
		{"stage": "closed", "visits": 0, "average_days": null, "median_days": null}
	], "won": {"deals": 1, "average_days_to_win": 8.0}}`)
	sameJSON(t, o.report(velocityPath+"?days=5").Body, `{"stages": [
		{"stage": "qualification", "visits": 1, "average_days": 10.0, "median_days": 10.0},
		{"stage": "proposal", "visits": 1, "average_days": 7.0, "median_days": 7.0},
		{"stage": "negotiation", "visits": 0, "average_days": null, "median_days": null},
		{"stage": "closed", "visits": 0, "average_days": null, "median_days": null}
	], "won": {"deals": 1, "average_days_to_win": 8.0}}`)
}

// Without pipeline_id the funnel is the default pipeline's, in its current order: a
// reorder changes it at once, and a stage's new probability changes the forecast's weighted
// sums at once, though both reports are cached (the pipeline write drops the cache).
func TestPipelineEditsReachTheCachedReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // ANALYTICS_CACHE_TTL 30s
	o := e.newOrg("Edits")
	pls := o.must(http.StatusOK, "GET", "/api/v1/pipelines", nil)["items"].([]any)
	def := pls[0].(map[string]any)
	stageID := map[string]int64{}
	for _, s := range def["stages"].([]any) {
		stageID[s.(map[string]any)["key"].(string)] = id(s.(map[string]any))
	}
	o.patch(o.deal(map[string]any{"expected_close_date": time.Now().UTC().Format(time.DateOnly)}), map[string]any{"stage": "negotiation"})
	o.deal(nil)
	funnel := func() string {
		t.Helper()
		var out string
		for _, st := range o.report(funnelPath).JSON()["stages"].([]any) {
			m := st.(map[string]any)
			out += fmt.Sprintf("%s:%d ", m["stage"], num(m["reached"]))
		}
		return out
	}
	weighted := func() string {
		t.Helper()
		return fmt.Sprint(o.report(forecastPath + "?months=1").JSON()["months"].([]any)[0].(map[string]any)["open"].(map[string]any)["weighted"])
	}
	if got := funnel(); got != "qualification:2 proposal:1 negotiation:1 closed:0 " {
		t.Fatalf("funnel %q", got)
	}
	if got := weighted(); got != "map[USD:60.00]" {
		t.Fatalf("weighted %q", got)
	}
	o.must(http.StatusOK, "PATCH", fmt.Sprintf("/api/v1/pipelines/%d/stages/%d", id(def), stageID["closed"]), map[string]any{"position": 1})
	if got := funnel(); got != "closed:2 qualification:2 proposal:1 negotiation:1 " {
		t.Fatalf("funnel after the reorder %q", got)
	}
	o.must(http.StatusOK, "PATCH", fmt.Sprintf("/api/v1/pipelines/%d/stages/%d", id(def), stageID["negotiation"]), map[string]any{"probability": 75})
	if got := weighted(); got != "map[USD:75.00]" {
		t.Fatalf("weighted after the probability change %q", got)
	}
}
