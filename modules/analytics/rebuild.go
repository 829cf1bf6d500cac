package analytics

import (
	"context"
	"fmt"

	"github.com/mini-crm/crm/platform/database"
)

// rebuildSQL recounts the read model of every organization from what the deals module
// reports of its deals. Per organization, under its own tenant setting (so that it also
// works for an owner role that does not bypass row-level security), it deletes the
// organization's rows and runs the very statements of the backfill migration
// 20261201100300_analytics_backfill.sql; a test keeps the two INSERT statements identical to
// the migration's. Like the migration it reads no table of another module: the counts come
// from the deals module's functions deals_pipeline_totals and deals_created_per_day (stages
// as the positions deals gives them), the organizations from the orgs module's
// organization_ids. It is one statement, so it commits or rolls back as a whole.
const rebuildSQL = `DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        DELETE FROM analytics_deal_totals WHERE organization_id = org;
        DELETE FROM analytics_deals_created WHERE organization_id = org;
        INSERT INTO analytics_deal_totals (organization_id, status, stage, max_stage, currency, deals, amount)
        SELECT org, t.status, t.stage, t.max_stage, t.currency, t.deals, t.amount
        FROM deals_pipeline_totals(org) t;
        INSERT INTO analytics_deals_created (organization_id, day, deals)
        SELECT org, c.day, c.deals
        FROM deals_created_per_day(org) c;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$`

// Rebuild replaces the analytics read model of every organization by a recount of its
// deals. It is for writers that bypass the deals module, such as the bulk seeder that
// COPYs deals straight into the table: the deal write path keeps the model in step
// incrementally, and a rebuild afterwards gives exactly the model those writes would have
// left (minus rows that fell to zero deals, which the reports skip). Run it on a connection
// of the database owner; reports cached by a running service are not dropped.
func Rebuild(ctx context.Context, q database.Querier) error {
	if _, err := q.Exec(ctx, rebuildSQL); err != nil {
		return fmt.Errorf("analytics: rebuild read model: %w", err)
	}
	return nil
}
