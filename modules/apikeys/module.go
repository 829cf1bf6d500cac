// Package apikeys owns API keys: credentials with which software acts for an organization
// without a person's password. A key acts for the member who created it, with the lower of
// the key's role and the creator's current one, and only in its own organization; it is
// revoked when its creator leaves. The module provides auth.APIKeys, through which the guard
// finds the key of a token on every request (nothing is cached, so a revoked key stops at
// once on every replica), and it writes last_used_at in batches rather than on each request.
package apikeys

import (
	"context"
	"embed"
	"io/fs"
	"time"

	"github.com/mini-crm/crm/modules/apikeys/apikeysapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/web"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// FlushInterval is how often last_used_at is written.
const FlushInterval = 5 * time.Second

// Module is the API keys slice.
type Module struct {
	svc *Service
}

// New builds the module. Creating and revoking a key write an api_key.created or
// api_key.revoked event through outbox, listed to owners and admins only; nil records none.
func New(db *database.DB, outbox *events.Outbox) *Module {
	st := store{db: db}
	svc := &Service{db: db, store: st, usage: newUsage(st, FlushInterval), now: time.Now}
	if outbox != nil {
		svc.record = func(ctx context.Context, orgID int64, typ string, k Key, system bool) error {
			c := events.Change{OrgID: orgID, Type: typ, Object: toJSON(k), Audience: events.Managers}
			if system {
				c.Actor = events.System
			}
			_, err := outbox.Record(ctx, c)
			return err
		}
	}
	return &Module{svc: svc}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "apikeys" }

func (m *Module) Provide(k *kernel.Kernel) error {
	if err := kernel.Provide[auth.APIKeys](k, m.svc); err != nil {
		return err
	}
	return kernel.Provide[apikeysapi.Keys](k, m.svc)
}

func (m *Module) Init(k *kernel.Kernel) error {
	// A member who leaves takes their keys with them, in the same transaction.
	kernel.Handle(k, func(ctx context.Context, e orgsapi.MemberRemoved) error {
		return m.svc.revokeCreatedBy(ctx, e.OrgID, e.UserID)
	})
	return nil
}

// Close writes the last_used_at still collected; the application calls it on shutdown.
func (m *Module) Close(ctx context.Context) error { return m.svc.usage.close(ctx) }

func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	// Managing keys is for people only: a key cannot mint or revoke keys.
	people := r.OrgPath.People()
	people.List().Get("/organizations/:org_id/api-keys", h.list)
	people.Post("/organizations/:org_id/api-keys", h.create)
	people.Delete("/organizations/:org_id/api-keys/:id", h.revoke)
}
