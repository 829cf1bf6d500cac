package analytics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/analytics"
)

// TestRebuildEqualsTheIncrementalModel writes deals through the API (creates, updates of
// every fact analytics follows, deletes) in two organizations, so that the deal write path
// keeps the read model incrementally; then it damages the read model and rebuilds it, and
// the rebuilt model must equal the incremental one row for row (rows that fell to zero
// deals excepted: the reports skip them) and give the same reports.
func TestRebuildEqualsTheIncrementalModel(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config()
	cfg.AnalyticsCacheTTL = 0 // reports computed from the model on every request
	e := newEnvWith(t, cfg)
	ctx := context.Background()
	team := e.NewTeam()
	orgs := []org{e.org(team.Owner, team.OrgID), e.org(team.Outsider, team.Outsider.OrgID)}
	empty := e.newOrg("empty")

	type dealOf struct {
		o  org
		id int64
	}
	rng := rand.New(rand.NewPCG(7, 11))
	var deals []dealOf
	for i := range 120 {
		switch r := rng.IntN(10); {
		case r < 4 || len(deals) < 4:
			o := orgs[i%len(orgs)]
			body := randomFacts(rng, true)
			body["contact_id"], body["title"] = o.contact, "Deal"
			deals = append(deals, dealOf{o, id(o.must(http.StatusCreated, "POST", "/api/v1/deals", body))})
		case r < 9:
			d := deals[rng.IntN(len(deals))]
			res := d.o.do("PATCH", "/api/v1/deals/"+itoa(d.id), randomFacts(rng, false))
			if res.Status != http.StatusOK && res.Status != http.StatusNotFound && res.Code() != "won_requires_positive_amount" {
				t.Fatalf("update: %d %s", res.Status, res.Body)
			}
		default:
			d := deals[rng.IntN(len(deals))]
			if res := d.o.do("DELETE", "/api/v1/deals/"+itoa(d.id), nil); res.Status != http.StatusNoContent && res.Status != http.StatusNotFound {
				t.Fatalf("delete: %d %s", res.Status, res.Body)
			}
		}
	}

	model := func() string {
		t.Helper()
		var s string
		if err := e.sql.QueryRow(ctx, `SELECT
			(SELECT coalesce(string_agg(format('%s %s %s %s %s %s %s', organization_id, status, stage, max_stage, currency, deals, amount), '; '
				ORDER BY organization_id, status, stage, max_stage, currency), '')
			 FROM (SELECT organization_id, status, stage, max_stage, currency, sum(deals) AS deals, sum(amount) AS amount
			       FROM analytics_deal_totals GROUP BY 1, 2, 3, 4, 5 HAVING sum(deals) <> 0) t)
			|| ' | ' ||
			(SELECT coalesce(string_agg(format('%s %s %s', organization_id, day, deals), '; ' ORDER BY organization_id, day), '')
			 FROM (SELECT organization_id, day, sum(deals) AS deals FROM analytics_deals_created GROUP BY 1, 2 HAVING sum(deals) <> 0) c)`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	reports := func() string {
		t.Helper()
		var s string
		for _, o := range append(orgs, empty) {
			s += fmt.Sprintf("%s\n%s\n", o.report(summaryPath+"?days=365").Body, o.report(funnelPath).Body)
		}
		return s
	}
	incremental, incrementalReports := model(), reports()

	// Damage the model: one organization's rows gone, another's counts wrong, a stray row
	// for the organization without deals.
	for _, stmt := range []string{
		fmt.Sprintf(`DELETE FROM analytics_deal_totals WHERE organization_id = %d`, orgs[0].id),
		fmt.Sprintf(`UPDATE analytics_deals_created SET deals = deals + 5 WHERE organization_id = %d`, orgs[1].id),
		fmt.Sprintf(`INSERT INTO analytics_deal_totals VALUES (%d, 1, 'won', 'closed', 4, 'USD', 3, 30)`, empty.id),
	} {
		if _, err := e.sql.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if model() == incremental {
		t.Fatal("damaging the read model changed nothing")
	}

	if err := analytics.Rebuild(ctx, e.sql); err != nil {
		t.Fatal(err)
	}
	if got := model(); got != incremental {
		t.Fatalf("rebuilt model differs from the incremental one\nrebuilt     %s\nincremental %s", got, incremental)
	}
	if got := reports(); got != incrementalReports {
		t.Fatalf("reports after the rebuild differ\nafter  %s\nbefore %s", got, incrementalReports)
	}
	e.checkRecount(t, orgs[0])
	e.checkRecount(t, orgs[1])
}
