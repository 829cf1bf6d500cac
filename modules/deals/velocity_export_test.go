package deals

import (
	"context"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/database"
)

// VelocityVisits and SetVisitsTrashed open the store's velocity read model to the tests of
// package deals_test.
func VelocityVisits(ctx context.Context, db *database.DB, orgID, pipelineID int64, since time.Time) ([]dealsapi.StageVisits, error) {
	return store{db: db}.velocityVisits(ctx, orgID, pipelineID, since)
}

func SetVisitsTrashed(ctx context.Context, db *database.DB, orgID, dealID int64, trashed bool) error {
	return db.WithinTx(database.WithTenant(ctx, orgID), func(ctx context.Context) error {
		return store{db: db}.setVisitsTrashed(ctx, orgID, dealID, trashed)
	})
}
