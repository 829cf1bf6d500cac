// Package invitations owns invitations: an owner or admin invites a person by email with a
// role, and that person joins the organization by accepting the invitation once signed in,
// or by signing up with its token. Tokens are single use, valid for seven days and stored
// hashed. Joining goes through the orgs module (orgsapi.Orgs.Join), so an accepted invitation
// is a membership like any other, with its member.added event; the role it gives is never
// more than its inviter has when it is accepted, and an inviter who is no longer owner or
// admin voids their pending invitations.
package invitations

import (
	"context"
	"embed"
	"io/fs"
	"time"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/modules/invitations/invitationsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/web"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// Module is the invitations slice.
type Module struct {
	svc *Service
}

// New builds the module; now is its clock (when invitations expire).
func New(db *database.DB, now func() time.Time) *Module {
	if now == nil {
		now = time.Now
	}
	return &Module{svc: &Service{db: db, store: store{db: db}, now: now}}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "invitations" }

func (m *Module) Provide(k *kernel.Kernel) error {
	return kernel.Provide[invitationsapi.Invitations](k, m.svc)
}

func (m *Module) Init(k *kernel.Kernel) error {
	id, err := kernel.Resolve[identityapi.Identity](k)
	if err != nil {
		return err
	}
	orgs, err := kernel.Resolve[orgsapi.Orgs](k)
	if err != nil {
		return err
	}
	members, err := kernel.Resolve[auth.Memberships](k)
	if err != nil {
		return err
	}
	m.svc.identity, m.svc.orgs, m.svc.members = id, orgs, members
	// An inviter who leaves, or is no longer owner or admin, takes their pending invitations
	// with them, in the same transaction.
	kernel.Handle(k, func(ctx context.Context, e orgsapi.MemberRemoved) error {
		return m.svc.revokeFrom(ctx, e.OrgID, e.UserID)
	})
	kernel.Handle(k, func(ctx context.Context, e orgsapi.MemberRoleChanged) error {
		if auth.Role(e.Role).CanManageOrganization() {
			return nil
		}
		return m.svc.revokeFrom(ctx, e.OrgID, e.UserID)
	})
	return nil
}

func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	// Inviting is granting access: for people only, never for an API key.
	people := r.OrgPath.People()
	people.List("status").Get("/organizations/:org_id/invitations", h.list)
	people.Post("/organizations/:org_id/invitations", h.create)
	people.Delete("/organizations/:org_id/invitations/:id", h.revoke)
	// The invitee's side: signed-in people, outside any organization (keys are refused).
	r.SignedIn.List().Get("/invitations", h.mine)
	r.SignedIn.Post("/invitations/accept", h.accept)
}
