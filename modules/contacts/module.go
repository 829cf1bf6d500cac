// Package contacts owns the contacts of an organization: the people and companies it sells
// to, each owned by a member. Deals reference contacts; how many do is asked of the deals
// module through contactsapi.DealLinks, so that this module never depends on deals.
package contacts

import (
	"embed"
	"io/fs"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/trash/trashapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/web"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// Module is the contacts slice.
type Module struct {
	svc *Service
}

// New builds the module. outbox records the contact.* events of its writes.
func New(db *database.DB, outbox Outbox) *Module {
	return &Module{svc: &Service{db: db, store: store{db: db}, outbox: outbox}}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "contacts" }

func (m *Module) Provide(k *kernel.Kernel) error {
	return kernel.Provide[contactsapi.Contacts](k, m.svc)
}

func (m *Module) Init(k *kernel.Kernel) error {
	links, err := kernel.Resolve[contactsapi.DealLinks](k)
	if err != nil {
		return err
	}
	mover, err := kernel.Resolve[contactsapi.DealMover](k)
	if err != nil {
		return err
	}
	m.svc.deals, m.svc.mover = links, mover
	tr, err := kernel.Resolve[trashapi.Trash](k)
	if err != nil {
		return err
	}
	m.svc.trash = tr
	tr.Register(trashapi.Contact, restorer{svc: m.svc})
	return nil
}

func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	r.Tenant.List(ListParams...).Get("/contacts", h.list)
	r.Tenant.Post("/contacts", h.create)
	// Before /contacts/:id, which would take "duplicates" for an id.
	r.Tenant.List().Get("/contacts/duplicates", h.duplicates)
	r.Tenant.Query(ExportParams...).Get("/contacts/export", h.export) // before /contacts/:id too
	r.Tenant.Post("/contacts/:id/merge", h.merge)
	r.Tenant.List().Get("/contacts/:id/history", h.history)
	r.Tenant.Get("/contacts/:id", h.get)
	r.Tenant.Patch("/contacts/:id", h.update)
	r.Tenant.Delete("/contacts/:id", h.delete)
}
