// Package imports owns CSV imports of contacts and deals: each import is a durable job that
// reads the file the request stored, checks every row by the rules of a create (through the
// contacts and deals facades, which create the records exactly as their API creates do) and
// writes all of them in one transaction, or nothing when any row breaks a rule or the import
// is a dry run.
package imports

import (
	"embed"
	"io/fs"
	"time"

	"github.com/mini-crm/crm/modules/apikeys/apikeysapi"
	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/queue"
	"github.com/mini-crm/crm/platform/web"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// ProgressEvery is how often a running import records how many rows it has processed.
const ProgressEvery = 250 * time.Millisecond

// Module is the imports slice.
type Module struct {
	svc *Service
}

// New builds the module and registers the import job's worker on jobs.
func New(db *database.DB, jobs *queue.Queue) *Module {
	svc := &Service{db: db, store: store{db: db}, queue: jobs, progressEvery: ProgressEvery}
	queue.Register(jobs, &runWorker{svc: svc})
	return &Module{svc: svc}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "imports" }

func (m *Module) Provide(*kernel.Kernel) error { return nil }

func (m *Module) Init(k *kernel.Kernel) error {
	contacts, err := kernel.Resolve[contactsapi.Contacts](k)
	if err != nil {
		return err
	}
	deals, err := kernel.Resolve[dealsapi.Deals](k)
	if err != nil {
		return err
	}
	memberships, err := kernel.Resolve[auth.Memberships](k)
	if err != nil {
		return err
	}
	keys, err := kernel.Resolve[apikeysapi.Keys](k)
	if err != nil {
		return err
	}
	m.svc.contacts, m.svc.deals, m.svc.memberships, m.svc.keys = contacts, deals, memberships, keys
	return nil
}

// Routes mounts the imports. Every member may import (the rows are theirs, as their creates
// would be), and API keys act with their role as elsewhere.
func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	r.Tenant.Query("type", "dry_run").Upload("/imports", web.Upload{MediaType: "text/csv", Limit: MaxBody}, h.create)
	r.Tenant.List().Get("/imports", h.list)
	r.Tenant.Get("/imports/:id", h.get)
}
