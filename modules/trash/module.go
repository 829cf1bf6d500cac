// Package trash owns an organization's trash: the list of the contacts, deals and tasks its
// members deleted, their restore, and the periodic purge that deletes them for good after
// TRASH_RETENTION. The records themselves stay in their owners' tables while in the trash
// (deleted_at set, hidden from every read path by row-level security); the owning modules
// write and remove the trash items through trashapi.Trash in their own transactions and
// register a trashapi.Restorer per object type, through which this module restores and
// purges them. It depends on no other module.
package trash

import (
	"embed"
	"io/fs"
	"time"

	"github.com/mini-crm/crm/modules/trash/trashapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/queue"
	"github.com/mini-crm/crm/platform/web"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// Options are the module's settings and the knobs tests turn.
type Options struct {
	// Retention is how long a record stays in the trash (TRASH_RETENTION); zero is 720 h.
	Retention time.Duration
	// Queue carries the periodic purge; nil schedules nothing (tests that purge by hand).
	Queue *queue.Queue
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// PurgeInterval is how often the purge job runs: a record leaves the trash at most this long
// after its purge_at.
const PurgeInterval = 10 * time.Minute

// Module is the trash slice.
type Module struct {
	svc *Service
}

// New builds the module and registers the purge job on the queue.
func New(db *database.DB, o Options) *Module {
	if o.Retention <= 0 {
		o.Retention = 720 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	svc := &Service{db: db, store: store{db: db}, retention: o.Retention, now: o.Now, restorers: map[string]trashapi.Restorer{}}
	if o.Queue != nil {
		queue.Register(o.Queue, &purgeWorker{svc: svc})
		o.Queue.Every(PurgeInterval, PurgeArgs{})
	}
	return &Module{svc: svc}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "trash" }

func (m *Module) Provide(k *kernel.Kernel) error {
	return kernel.Provide[trashapi.Trash](k, m.svc)
}

// Init resolves nothing: the owning modules register their restorers in their own Init.
func (m *Module) Init(*kernel.Kernel) error { return nil }

func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	r.Tenant.List("type").Get("/trash", h.list)
	r.Tenant.Post("/trash/:type/:id/restore", h.restore)
}
