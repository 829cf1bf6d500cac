// Package timeline owns the activities of deals: comments written by people and events
// recorded by the system (creation, status and stage changes, tasks); comments alone can be
// edited and deleted, by the people who may (timelineapi). It depends on no other
// module; modules that own deals append to it through timelineapi inside their own
// transactions and serve its HTTP routes, because only they can tell whether a deal exists.
package timeline

import (
	"embed"
	"io/fs"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// Module is the timeline slice.
type Module struct {
	svc *Service
}

// New builds the module. outbox records the activity.created event of every activity, in
// the transaction that appends it, and the activity.updated and activity.deleted events of
// comments edited and deleted, in theirs.
func New(db *database.DB, outbox Outbox) *Module {
	return &Module{svc: newService(db, outbox)}
}

// Service exposes the facade implementation (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "timeline" }

func (m *Module) Provide(k *kernel.Kernel) error {
	return kernel.Provide[timelineapi.Timeline](k, m.svc)
}

func (m *Module) Init(*kernel.Kernel) error { return nil }
