// Package webhooks owns an organization's webhook endpoints and the log of the deliveries
// made to them: endpoints subscribe to event types, and every committed event of those types
// is POSTed to them, signed as the Standard Webhooks specification says, retried on a
// schedule, and never sent to an address that is not publicly reachable.
package webhooks

import (
	"embed"
	"io/fs"
	"net"
	"time"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/web"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// Options are the module's settings and the knobs tests turn.
type Options struct {
	Settings
	// AppSecret keys the encryption of signing secrets at rest (the JWT secret).
	AppSecret []byte
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Module is the webhooks slice.
type Module struct {
	svc *Service
}

// New builds the module.
func New(db *database.DB, o Options) *Module {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.MaxEndpoints < 1 {
		o.MaxEndpoints = 10
	}
	return &Module{svc: &Service{db: db, store: store{db: db}, sealer: newSealer(o.AppSecret), settings: o.Settings, now: o.Now}}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "webhooks" }

func (m *Module) Provide(*kernel.Kernel) error { return nil }

func (m *Module) Init(*kernel.Kernel) error { return nil }

// Routes mounts the endpoints' routes. They manage where the organization's data is sent,
// so only owners and admins use them (the service checks the role), and only people: an API
// key is refused (403 api_key_not_allowed), so that a key cannot send the data anywhere.
func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	g := r.Tenant.People()
	g.Get("/webhooks", h.list)
	g.Post("/webhooks", h.create)
	g.Get("/webhooks/:id", h.get)
	g.Patch("/webhooks/:id", h.update)
	g.Delete("/webhooks/:id", h.delete)
	g.Post("/webhooks/:id/rotate-secret", h.rotate)
}
