package analytics

import (
	"context"
	"fmt"

	"github.com/mini-crm/crm/platform/database"
)

// rebuildSQL recounts the read model of every organization (from the orgs module's
// organization_ids) with analytics_recount, the function the backfill migration
// 20261201100300_analytics_backfill.sql creates and uses: it reads no table of another
// module, and runs each organization under its own tenant setting, so it also works for an
// owner role that does not bypass row-level security. It is one statement, so it commits or
// rolls back as a whole.
const rebuildSQL = `SELECT analytics_recount(id) FROM organization_ids() AS id`

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
