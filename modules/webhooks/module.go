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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
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
	Settings
	// AppSecret keys the encryption of signing secrets at rest (the JWT secret).
	AppSecret []byte
	// Outbox records the webhook.* events and runs the dispatcher; Queue carries the
	// delivery jobs.
	Outbox *events.Outbox
	Queue  *queue.Queue
	// Schedule are the waits between attempts (WEBHOOK_RETRY_SCHEDULE); DisableAfter is
	// WEBHOOK_DISABLE_AFTER.
	Schedule     []time.Duration
	DisableAfter time.Duration
	// Timeout bounds one attempt; zero is DefaultTimeout (10 s).
	Timeout time.Duration
	// Retention is how long finished deliveries are kept (EVENT_RETENTION, that of the events
	// they delivered); zero is 720 h.
	Retention time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Module is the webhooks slice.
type Module struct {
	svc *Service
}

// New builds the module: it hangs the dispatcher on the outbox and registers the delivery
// worker on the queue.
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
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if len(o.Schedule) == 0 {
		o.Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = 120 * time.Hour
	}
	if o.Retention <= 0 {
		o.Retention = 720 * time.Hour
	}
	svc := &Service{db: db, store: store{db: db}, sealer: newSealer(o.AppSecret), settings: o.Settings, now: o.Now,
		events: recorder{outbox: o.Outbox}, outbox: o.Outbox, queue: o.Queue, metrics: newMetrics(db),
		sender: newSender(o.Timeout, o.AllowPrivate, o.Resolver), schedule: o.Schedule, disableAfter: o.DisableAfter, timeout: o.Timeout,
		retention: o.Retention}
	o.Outbox.OnSequenced(svc.dispatch)
	queue.Register(o.Queue, &deliverWorker{svc: svc})
	queue.Register(o.Queue, &purgeWorker{svc: svc})
	o.Queue.Every(time.Hour, PurgeArgs{})
	return &Module{svc: svc}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "webhooks" }

func (m *Module) Provide(*kernel.Kernel) error { return nil }

func (m *Module) Init(*kernel.Kernel) error { return nil }

// Describe implements prometheus.Collector: the module's delivery metrics.
func (m *Module) Describe(ch chan<- *prometheus.Desc) { m.svc.metrics.Describe(ch) }

// Collect implements prometheus.Collector.
func (m *Module) Collect(ch chan<- prometheus.Metric) { m.svc.metrics.Collect(ch) }

// Routes mounts the endpoints' routes. They manage where the organization's data is sent,
// so only owners and admins use them (the service checks the role), and only people: an API
// key is refused (403 api_key_not_allowed), so that a key cannot send the data anywhere.
func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	g := r.Tenant.People()
	g.List().Get("/webhooks", h.list)
	g.Post("/webhooks", h.create)
	g.Get("/webhooks/:id", h.get)
	g.Patch("/webhooks/:id", h.update)
	g.Delete("/webhooks/:id", h.delete)
	g.Post("/webhooks/:id/rotate-secret", h.rotate)
	g.Post("/webhooks/:id/ping", h.ping)
	g.List().Get("/webhooks/:id/deliveries", h.deliveries)
	g.Post("/webhooks/:id/deliveries/:delivery_id/retry", h.retry)
}
