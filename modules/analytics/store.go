package analytics

import (
	"context"
	"fmt"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/platform/database"
)

// slot is the row of the read model's key a write adds to: one of 8 picked by the writer's
// backend, so that concurrent writers of one organization do not queue on one row's lock
// (migration 20261203600000_analytics_slots.sql). Readers sum the slots.
var slot = sq.Expr("pg_backend_pid() % 8")

// store holds the read model: analytics_deal_totals (deals and their sum per status, stage,
// furthest stage reached and currency) and analytics_deals_created (deals created per UTC
// day). Every method filters by the organization it is given.
type store struct{ db *database.DB }

// apply adds the deltas of one deal write, in the transaction carried by ctx. Each table
// gets one statement; the rows are listed in a fixed order (see deltas), so that
// concurrent writers lock shared rows in the same order.
func (s store) apply(ctx context.Context, orgID int64, ts []totalsDelta, cs []createdDelta) error {
	q := s.db.Q(ctx)
	if len(ts) > 0 {
		ins := database.SQL.Insert("analytics_deal_totals").
			Columns("organization_id", "pipeline_id", "status", "stage", "max_stage", "currency", "slot", "deals", "amount")
		for _, d := range ts {
			ins = ins.Values(orgID, d.PipelineID, d.Status, d.Stage, d.MaxStage, d.Currency, slot, d.Deals, d.Amount)
		}
		ins = ins.Suffix("ON CONFLICT (organization_id, pipeline_id, status, stage, max_stage, currency, slot) DO UPDATE SET " +
			"deals = analytics_deal_totals.deals + EXCLUDED.deals, amount = analytics_deal_totals.amount + EXCLUDED.amount")
		if _, err := database.Exec(ctx, q, ins); err != nil {
			return fmt.Errorf("update deal totals: %w", err)
		}
	}
	if len(cs) > 0 {
		ins := database.SQL.Insert("analytics_deals_created").Columns("organization_id", "day", "slot", "deals")
		for _, d := range cs {
			ins = ins.Values(orgID, sq.Expr("?::date", d.Day.Format(time.DateOnly)), slot, d.Deals)
		}
		ins = ins.Suffix("ON CONFLICT (organization_id, day, slot) DO UPDATE SET deals = analytics_deals_created.deals + EXCLUDED.deals")
		if _, err := database.Exec(ctx, q, ins); err != nil {
			return fmt.Errorf("update deals created: %w", err)
		}
	}
	return nil
}

// totals returns the organization's rows that hold deals, their slots summed: a few dozen
// at most (statuses × stage pairs × currencies), however many deals there are.
func (s store) totals(ctx context.Context, orgID int64) ([]totalsRow, error) {
	rows, err := database.Select[totalsRow](ctx, s.db.Q(ctx),
		database.SQL.Select("pipeline_id", "status", "stage", "max_stage", "currency", "sum(deals)::bigint AS deals", "sum(amount) AS amount").
			From("analytics_deal_totals").
			Where(sq.Eq{"organization_id": orgID}).
			GroupBy("pipeline_id", "status", "stage", "max_stage", "currency").Having("sum(deals) <> 0"))
	if err != nil {
		return nil, fmt.Errorf("read deal totals: %w", err)
	}
	return rows, nil
}

// createdSince counts the deals created on day (UTC) or later: at most one row per day.
func (s store) createdSince(ctx context.Context, orgID int64, day time.Time) (int64, error) {
	n, err := database.Scalar[int64](ctx, s.db.Q(ctx),
		database.SQL.Select("COALESCE(sum(deals), 0)::bigint").From("analytics_deals_created").
			Where(sq.Eq{"organization_id": orgID}).Where(sq.Expr("day >= ?::date", day.Format(time.DateOnly))))
	if err != nil {
		return 0, fmt.Errorf("read deals created: %w", err)
	}
	return n, nil
}
