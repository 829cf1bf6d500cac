// Package orgs owns organizations and memberships: who belongs to which organization with
// which role. It provides auth.Memberships, which the tenant middleware uses to turn an
// organization id into the caller's role, and owns sign-up (a user together with their first
// organization), which it carries out through the identity facade in one transaction.
package orgs

import (
	"embed"
	"io/fs"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// Module is the orgs slice.
type Module struct {
	svc        *Service
	guard      *auth.Guard
	idempotent fiber.Handler
}

// New builds the module. idempotent is the idempotency-key middleware for the creating
// routes that are not tenant routes (sign-up, new organization); nil disables it.
func New(db *database.DB, guard *auth.Guard, idempotent fiber.Handler) *Module {
	if idempotent == nil {
		idempotent = func(c *fiber.Ctx) error { return c.Next() }
	}
	return &Module{svc: &Service{db: db, store: store{db: db}}, guard: guard, idempotent: idempotent}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string      { return "orgs" }
func (m *Module) Migrations() fs.FS { return migrations }

func (m *Module) Provide(k *kernel.Kernel) error {
	if err := kernel.Provide[orgsapi.Orgs](k, m.svc); err != nil {
		return err
	}
	return kernel.Provide[auth.Memberships](k, m.svc)
}

func (m *Module) Init(k *kernel.Kernel) error {
	id, err := kernel.Resolve[identityapi.Identity](k)
	if err != nil {
		return err
	}
	m.svc.identity = id
	return nil
}

func (m *Module) Routes(api fiber.Router) {
	h := handler{svc: m.svc}
	authn := m.guard.Authenticated()
	org := m.guard.TenantFromPath("org_id")
	api.Post("/auth/register", m.idempotent, h.register)
	api.Get("/organizations/me", authn, h.mine)
	api.Post("/organizations", authn, m.idempotent, h.create)
	api.Get("/organizations/:org_id", org, h.get)
	api.Patch("/organizations/:org_id", org, h.update)
	api.Get("/organizations/:org_id/members", org, h.members)
	api.Post("/organizations/:org_id/members", org, h.addMember)
	api.Patch("/organizations/:org_id/members/:user_id", org, h.changeRole)
	api.Delete("/organizations/:org_id/members/:user_id", org, h.removeMember)
}
