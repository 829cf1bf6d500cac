// Package contacts owns the contacts of an organization: the people and companies it sells
// to, each owned by a member. Deals reference contacts; how many do is asked of the deals
// module through contactsapi.DealLinks, so that this module never depends on deals.
package contacts

import (
	"embed"
	"io/fs"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// Module is the contacts slice.
type Module struct {
	svc   *Service
	guard *auth.Guard
}

// New builds the module.
func New(db *database.DB, guard *auth.Guard) *Module {
	return &Module{svc: &Service{db: db, store: store{db: db}}, guard: guard}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string      { return "contacts" }
func (m *Module) Migrations() fs.FS { return migrations }

func (m *Module) Provide(k *kernel.Kernel) error {
	return kernel.Provide[contactsapi.Contacts](k, m.svc)
}

func (m *Module) Init(k *kernel.Kernel) error {
	links, err := kernel.Resolve[contactsapi.DealLinks](k)
	if err != nil {
		return err
	}
	m.svc.deals = links
	return nil
}

func (m *Module) Routes(api fiber.Router) {
	h := handler{svc: m.svc}
	tenant := m.guard.Tenant()
	api.Get("/contacts", tenant, h.list)
	api.Post("/contacts", tenant, h.create)
	api.Get("/contacts/:id", tenant, h.get)
	api.Patch("/contacts/:id", tenant, h.update)
	api.Delete("/contacts/:id", tenant, h.delete)
}
