package deals_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
)

// The SQL function that gives other modules' SQL the position of a stage agrees with
// dealsapi.Pipeline, the one definition of the order, and knows no other stage.
func TestStagePositionFunctionFollowsThePipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, s := range dealsapi.Pipeline {
		var pos *int
		if err := e.sql.QueryRow(ctx, "SELECT deals_stage_position($1)", s.Key).Scan(&pos); err != nil {
			t.Fatal(err)
		}
		if pos == nil || *pos != s.Position {
			t.Errorf("deals_stage_position(%q) = %v, want %d", s.Key, pos, s.Position)
		}
	}
	var pos *int
	if err := e.sql.QueryRow(ctx, "SELECT deals_stage_position('pitch')").Scan(&pos); err != nil || pos != nil {
		t.Errorf("unknown stage: %v, %v", pos, err)
	}
}

// The functions other modules rebuild from report the organization's deals only: counted
// and summed per status, stage position, furthest stage and currency, and per UTC day.
func TestPipelineFunctionsReportTheOrganizationsDeals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.deal(e.team.Owner, map[string]any{"amount": "100.50", "currency": "EUR"})
	e.deal(e.team.Owner, map[string]any{"amount": "20", "currency": "EUR"})
	d := e.deal(e.team.Owner, map[string]any{"amount": "7", "currency": "USD", "stage": "negotiation", "status": "in_progress"})
	e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"stage": "proposal"})

	tx, err := e.sql.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT set_config('app.organization_id', $1::bigint::text, true)", e.team.OrgID); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `SELECT status, stage, max_stage, currency, deals, amount::text
		FROM deals_pipeline_totals($1) ORDER BY currency, stage`, e.team.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		status          string
		stage, maxStage int
		currency        string
		deals           int64
		amount          string
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.status, &r.stage, &r.maxStage, &r.currency, &r.deals, &r.amount); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []row{{"new", 1, 1, "EUR", 2, "120.50"}, {"in_progress", 2, 3, "USD", 1, "7.00"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("deals_pipeline_totals = %+v, want %+v", got, want)
	}
	var days, deals int64
	if err := tx.QueryRow(ctx, `SELECT count(*), COALESCE(sum(deals), 0)::bigint FROM deals_created_per_day($1)`,
		e.team.OrgID).Scan(&days, &deals); err != nil {
		t.Fatal(err)
	}
	if deals != 3 || days < 1 || days > 2 {
		t.Fatalf("deals_created_per_day: %d days, %d deals", days, deals)
	}
}
