package analytics

import (
	"context"
	"fmt"

	"github.com/mini-crm/crm/platform/database"
)

// rebuildSQL recounts the read model of every organization from its deals. Per
// organization, under its own tenant setting (so that it also works for an owner role that
// does not bypass row-level security), it deletes the organization's rows and runs the very
// backfill of the migration 20261127100600_analytics_read_model.sql; a test keeps the two
// INSERT statements identical to the migration's. It is one statement, so it commits or
// rolls back as a whole.
const rebuildSQL = `DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organizations ORDER BY id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        DELETE FROM analytics_deal_totals WHERE organization_id = org;
        DELETE FROM analytics_deals_created WHERE organization_id = org;
        INSERT INTO analytics_deal_totals (organization_id, status, stage, max_stage, currency, deals, amount)
        SELECT organization_id, status,
               CASE stage WHEN 'qualification' THEN 1 WHEN 'proposal' THEN 2 WHEN 'negotiation' THEN 3 ELSE 4 END,
               max_stage, currency, count(*), sum(amount)
        FROM deals
        WHERE organization_id = org
        GROUP BY 1, 2, 3, 4, 5;
        INSERT INTO analytics_deals_created (organization_id, day, deals)
        SELECT organization_id, (created_at AT TIME ZONE 'UTC')::date, count(*)
        FROM deals
        WHERE organization_id = org
        GROUP BY 1, 2;
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
