package analytics

import (
	"time"

	"github.com/mini-crm/crm/platform/cache"
	"github.com/mini-crm/crm/platform/database"
)

// NewReader builds a service over db's read model with its own cache and clock, beside the
// one the application runs (which keeps the read model in step).
func NewReader(db *database.DB, deals Deals, c *cache.Cache, now func() time.Time) *Service {
	return &Service{db: db, store: store{db: db}, deals: deals, cache: c, now: now}
}
