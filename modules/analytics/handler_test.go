package analytics_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/kernel"
)

func TestAnEmptyOrganizationHasZerosAndNulls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.newOrg("empty")
	res := o.report(summaryPath)
	sameJSON(t, res.Body, emptySummary)
	if !strings.Contains(string(res.Body), `"win_rate":null`) || !strings.Contains(string(res.Body), `"amount":{}`) {
		t.Fatalf("body %s", res.Body)
	}
	sameJSON(t, o.report(funnelPath).Body, emptyFunnel)
	sameJSON(t, o.report(summaryPath+"?days=7").Body, strings.Replace(emptySummary, `"days": 30`, `"days": 7`, 1))
}

// The known data set of the team's organization, hand-computed:
//
//	deal  status       stage          furthest  amount    how it got there
//	D1    new          qualification  1         100.00 EUR  created; title renamed
//	D2    new          qualification  1         200.50 EUR
//	D3    in_progress  proposal       2          50.00 USD  created at proposal in EUR, currency changed
//	D4    won          closed         4        1000.00 USD  created at closed (skipped stages), 999 → 1000
//	D5    won          proposal       4        3000.01 USD  created at closed, rolled back by an admin
//	D6    lost         qualification  1          10.00 USD  lost at the first stage
//	D7    won          negotiation    3         500.00 EUR  moved qualification → negotiation, then won
//	D8    lost         proposal       2           0.00 GBP  moved to proposal and lost in one patch
//	D9    deleted
//
// Summary: new 2 (EUR 300.50); in progress 1 (USD 50.00); won 3 (USD 4000.01, EUR 500.00);
// lost 2 (USD 10.00, GBP 0.00); won average USD 4000.01 / 2 = 2000.005 → 2000.01 (half-up),
// EUR 500.00; win rate 3 / 5 = 60.0 %; 8 deals created in the last 30 days.
// Funnel: reached qualification 8, proposal 5 (D3 D4 D5 D7 D8), negotiation 3 (D4 D5 D7),
// closed 2 (D4 D5); conversions 5/8 = 62.5, 3/5 = 60.0, 2/3 = 66.7.
const teamSummary = `{
	"by_status": {
		"new": {"count": 2, "amount": {"EUR": "300.50"}},
		"in_progress": {"count": 1, "amount": {"USD": "50.00"}},
		"won": {"count": 3, "amount": {"USD": "4000.01", "EUR": "500.00"}},
		"lost": {"count": 2, "amount": {"USD": "10.00", "GBP": "0.00"}}
	},
	"won_average_amount": {"USD": "2000.01", "EUR": "500.00"},
	"win_rate": 60.0,
	"new_deals": {"days": 30, "count": 8}
}`

const teamFunnel = `{"stages": [
	{"stage": "qualification", "count": 3, "by_status": {"new": 2, "in_progress": 0, "won": 0, "lost": 1}, "reached": 8, "conversion_from_previous": null},
	{"stage": "proposal", "count": 3, "by_status": {"new": 0, "in_progress": 1, "won": 1, "lost": 1}, "reached": 5, "conversion_from_previous": 62.5},
	{"stage": "negotiation", "count": 1, "by_status": {"new": 0, "in_progress": 0, "won": 1, "lost": 0}, "reached": 3, "conversion_from_previous": 60.0},
	{"stage": "closed", "count": 1, "by_status": {"new": 0, "in_progress": 0, "won": 1, "lost": 0}, "reached": 2, "conversion_from_previous": 66.7}
]}`

// The other organization: B1 won at closed 70 USD, B2 lost at qualification 30 USD, B3 new
// at proposal 5 JPY. Reached 3, 2, 1, 1.
const otherSummary = `{
	"by_status": {
		"new": {"count": 1, "amount": {"JPY": "5.00"}},
		"in_progress": {"count": 0, "amount": {}},
		"won": {"count": 1, "amount": {"USD": "70.00"}},
		"lost": {"count": 1, "amount": {"USD": "30.00"}}
	},
	"won_average_amount": {"USD": "70.00"},
	"win_rate": 50.0,
	"new_deals": {"days": 30, "count": 3}
}`

const otherFunnel = `{"stages": [
	{"stage": "qualification", "count": 1, "by_status": {"new": 0, "in_progress": 0, "won": 0, "lost": 1}, "reached": 3, "conversion_from_previous": null},
	{"stage": "proposal", "count": 1, "by_status": {"new": 1, "in_progress": 0, "won": 0, "lost": 0}, "reached": 2, "conversion_from_previous": 66.7},
	{"stage": "negotiation", "count": 0, "by_status": {"new": 0, "in_progress": 0, "won": 0, "lost": 0}, "reached": 1, "conversion_from_previous": 50.0},
	{"stage": "closed", "count": 1, "by_status": {"new": 0, "in_progress": 0, "won": 1, "lost": 0}, "reached": 1, "conversion_from_previous": 100.0}
]}`

// seedTeam builds the team organization's data set (see teamSummary) and returns the
// organization as its owner.
func seedTeam(e env, team apptest.Team) org {
	o := e.org(team.Owner, team.OrgID)
	admin := org{e: e, user: team.Admin, id: team.OrgID, contact: o.contact}
	d1 := o.deal(map[string]any{"amount": 100, "currency": "EUR"})
	o.patch(d1, map[string]any{"title": "Renamed"})
	o.deal(map[string]any{"amount": 200.5, "currency": "EUR"})
	d3 := o.deal(map[string]any{"amount": "50", "currency": "EUR", "status": "in_progress", "stage": "proposal"})
	o.patch(d3, map[string]any{"currency": "USD"})
	d4 := o.deal(map[string]any{"amount": "999.00", "status": "won", "stage": "closed"})
	o.patch(d4, map[string]any{"amount": "1000"})
	d5 := o.deal(map[string]any{"amount": "3000.01", "status": "won", "stage": "closed"})
	admin.patch(d5, map[string]any{"stage": "proposal"})
	o.deal(map[string]any{"amount": 10, "status": "lost"})
	d7 := o.deal(map[string]any{"amount": 500, "currency": "EUR"})
	o.patch(d7, map[string]any{"stage": "negotiation"})
	o.patch(d7, map[string]any{"status": "won"})
	d8 := o.deal(map[string]any{"amount": 0, "currency": "GBP"})
	o.patch(d8, map[string]any{"stage": "proposal", "status": "lost"})
	d9 := o.deal(map[string]any{"amount": 999, "stage": "closed"})
	o.remove(d9)
	return o
}

func seedOther(e env, u apptest.User) org {
	o := e.org(u, u.OrgID)
	o.deal(map[string]any{"amount": 70, "status": "won", "stage": "closed"})
	o.deal(map[string]any{"amount": 30, "status": "lost"})
	o.deal(map[string]any{"amount": 5, "currency": "JPY", "stage": "proposal"})
	return o
}

func TestKnownDataSetsOfTwoOrganizations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team := e.NewTeam()
	a := seedTeam(e, team)
	b := seedOther(e, team.Outsider)

	sum := a.report(summaryPath)
	sameJSON(t, sum.Body, teamSummary)
	if !strings.Contains(string(sum.Body), `"win_rate":60.0`) {
		t.Fatalf("win_rate is not rendered with one decimal: %s", sum.Body)
	}
	fun := a.report(funnelPath)
	sameJSON(t, fun.Body, teamFunnel)
	if !strings.Contains(string(fun.Body), `"conversion_from_previous":60.0`) {
		t.Fatalf("body %s", fun.Body)
	}
	sameJSON(t, b.report(summaryPath).Body, otherSummary)
	sameJSON(t, b.report(funnelPath).Body, otherFunnel)

	// Every role reads the same reports.
	for _, role := range []string{"admin", "manager", "member"} {
		as := org{e: e, user: team.As(role), id: team.OrgID}
		sameJSON(t, as.report(summaryPath).Body, teamSummary)
		sameJSON(t, as.report(funnelPath).Body, teamFunnel)
	}
	// days only moves the window: every deal was created just now.
	for _, days := range []string{"1", "365"} {
		want := strings.Replace(teamSummary, `"days": 30`, `"days": `+days, 1)
		sameJSON(t, a.report(summaryPath+"?days="+days).Body, want)
	}
}

func TestAReadModelWriteRollsBackWithTheDealWrite(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config()
	cfg.AnalyticsCacheTTL = 0 // every report below is computed, none replayed
	e := newEnvWith(t, cfg)
	o := e.newOrg("rollback")
	d := o.deal(map[string]any{"amount": 10})
	before := o.report(summaryPath).Body
	// A later handler of the same event fails: the deal write and the analytics handler's
	// upserts (which ran first) roll back together.
	boom := errors.New("boom")
	kernel.Handle(e.App.Kernel, func(_ context.Context, ev dealsapi.DealWritten) error {
		if ev.OrgID == o.id {
			return boom
		}
		return nil
	})
	if res := o.do("POST", "/api/v1/deals", map[string]any{"contact_id": o.contact, "title": "x", "amount": 5}); res.Status != http.StatusInternalServerError {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	if res := o.do("PATCH", "/api/v1/deals/"+itoa(d), map[string]any{"status": "won", "stage": "closed"}); res.Status != http.StatusInternalServerError {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	if res := o.do("DELETE", "/api/v1/deals/"+itoa(d), nil); res.Status != http.StatusInternalServerError {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	sameJSON(t, o.report(summaryPath).Body, string(before))
	var n int64
	if err := e.sql.QueryRow(context.Background(), "SELECT sum(deals) FROM analytics_deal_totals WHERE organization_id = $1", o.id).Scan(&n); err != nil || n != 1 {
		t.Fatalf("read model holds %d deals (%v), want 1", n, err)
	}
	// A write that fails a rule before writing leaves everything as it was too.
	if res := o.do("PATCH", "/api/v1/deals/"+itoa(d), map[string]any{"status": "won", "amount": 0}); res.Status != http.StatusBadRequest {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	sameJSON(t, o.report(summaryPath).Body, string(before))
}

func TestDaysMustBeAnIntegerFrom1To365(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.newOrg("days")
	for _, v := range []string{"0", "366", "-1", "abc", "1.5", "30.0", "1e2", "%2B5", "99999999999999999999"} {
		res := o.do("GET", summaryPath+"?days="+v, nil)
		m := apptest.WantProblem(t, res, http.StatusBadRequest, "invalid_query")
		errs, _ := m["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["field"] != "days" || !strings.Contains(m["detail"].(string), "days") {
			t.Fatalf("days=%s: %s", v, res.Body)
		}
	}
	for _, v := range []string{"1", "365", "007"} {
		o.report(summaryPath + "?days=" + v)
	}
}

func TestReportsNeedAMemberOfTheOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team := e.NewTeam()
	for _, path := range []string{summaryPath, funnelPath} {
		if res := e.Do(apptest.Req{Method: "GET", Path: path, Org: team.OrgID}); res.Status != http.StatusUnauthorized {
			t.Fatalf("%s without a token: %d", path, res.Status)
		}
		if res := e.Do(apptest.Req{Method: "GET", Path: path, Token: team.Outsider.Token, Org: team.OrgID}); res.Status != http.StatusForbidden {
			t.Fatalf("%s as an outsider: %d", path, res.Status)
		}
		if res := e.Do(apptest.Req{Method: "GET", Path: path, Token: team.Owner.Token}); res.Status != http.StatusBadRequest {
			t.Fatalf("%s without X-Organization-Id: %d", path, res.Status)
		}
	}
}
