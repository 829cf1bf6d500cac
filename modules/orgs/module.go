// Package orgs owns organizations and memberships: who belongs to which organization with
// which role. It provides auth.Memberships, which the tenant middleware uses to turn an
// organization id into the caller's role, and owns sign-up (a user together with their first
// organization), which it carries out through the identity facade in one transaction.
package orgs

import (
	"context"
	"embed"
	"io/fs"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/modules/invitations/invitationsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
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

// Module is the orgs slice.
type Module struct {
	svc *Service
}

// New builds the module. outbox records the member.* events of its writes; jobs carries the
// erasure of deleted organizations, whose workers New registers on it.
func New(db *database.DB, outbox Outbox, jobs *queue.Queue) *Module {
	svc := &Service{db: db, store: store{db: db}, outbox: outbox}
	svc.register(jobs)
	return &Module{svc: svc}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "orgs" }

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
	// Signing up with an invitation redeems it inside the sign-up's transaction.
	inv, err := kernel.Resolve[invitationsapi.Invitations](k)
	if err != nil {
		return err
	}
	m.svc.invitations = inv
	m.svc.roleChanged = func(ctx context.Context, e orgsapi.MemberRoleChanged) error { return kernel.Emit(ctx, k, e) }
	m.svc.closed = func(ctx context.Context, e orgsapi.OrganizationClosed) error { return kernel.Emit(ctx, k, e) }
	m.svc.emit = func(ctx context.Context, e orgsapi.MemberRemoved) error { return kernel.Emit(ctx, k, e) }
	m.svc.created = func(ctx context.Context, e orgsapi.OrganizationCreated) error { return kernel.Emit(ctx, k, e) }
	return nil
}

func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	r.Public.Post("/auth/register", h.register)
	r.SignedIn.Get("/organizations/me", h.mine)
	r.SignedIn.Post("/organizations", h.create)
	r.OrgPath.Get("/organizations/:org_id", h.get)
	r.OrgPath.Patch("/organizations/:org_id", h.update)
	r.OrgPath.List().Get("/organizations/:org_id/members", h.members)
	// Granting and taking away access is for people only: a key can never create access that
	// outlives it.
	people := r.OrgPath.People()
	people.Post("/organizations/:org_id/members", h.addMember)
	people.Patch("/organizations/:org_id/members/:user_id", h.changeRole)
	people.Delete("/organizations/:org_id/members/:user_id", h.removeMember)
	// Deleting the organization takes everyone's access and every record: an owner's act, by
	// a person, who confirms it with the organization's name.
	people.Query("confirm").Delete("/organizations/:org_id", h.remove)
}
