// Package app is the composition root: it builds the platform services, every module and
// the HTTP application from a configuration. cmd/crm runs it; tests build it the same way.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/mini-crm/crm/modules/analytics"
	"github.com/mini-crm/crm/modules/apikeys"
	"github.com/mini-crm/crm/modules/contacts"
	"github.com/mini-crm/crm/modules/deals"
	"github.com/mini-crm/crm/modules/identity"
	"github.com/mini-crm/crm/modules/imports"
	"github.com/mini-crm/crm/modules/invitations"
	"github.com/mini-crm/crm/modules/orgs"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/modules/pipelines"
	"github.com/mini-crm/crm/modules/tasks"
	"github.com/mini-crm/crm/modules/timeline"
	"github.com/mini-crm/crm/modules/trash"
	"github.com/mini-crm/crm/modules/webhooks"
	"github.com/mini-crm/crm/openapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/cache"
	"github.com/mini-crm/crm/platform/config"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/idempotency"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/queue"
	"github.com/mini-crm/crm/platform/ratelimit"
	"github.com/mini-crm/crm/platform/web"
)

// deps is what modules are built from.
type deps struct {
	cfg      config.Config
	db       *database.DB
	tokens   *auth.Tokens
	opts     Options
	throttle identity.Throttle
	// outbox records the change feed's events in the writes' transactions.
	outbox *events.Outbox
	// queue takes durable jobs; modules register their workers on it while they are built.
	queue *queue.Queue
	// caches carries the invalidations of the caches attached to it to every replica.
	caches *cache.Bus
	log    *slog.Logger
}

// pipelinesCacheTTL bounds how long a process keeps an organization's pipelines; every
// pipeline write drops them at once on every replica, so this only ages out the unused.
const pipelinesCacheTTL = 10 * time.Minute

// catalog is the one list of modules, in dependency order: each module's migrations and how
// it is built. Sources and New both read it, so a module is added in exactly one place.
var catalog = []struct {
	name       string
	migrations func() fs.FS
	build      func(d deps) kernel.Module
}{
	{"identity", identity.Migrations, func(d deps) kernel.Module {
		return identity.New(d.db, d.tokens, identity.Options{HashParams: d.opts.HashParams, Throttle: d.throttle})
	}},
	{"orgs", orgs.Migrations, func(d deps) kernel.Module { return orgs.New(d.db, d.outbox, d.queue) }},
	{"pipelines", pipelines.Migrations, func(d deps) kernel.Module {
		// Pipelines change rarely and are read by every deal write and deal list: kept until a
		// pipeline write of the organization invalidates them on every replica.
		c := cache.New(pipelinesCacheTTL)
		d.caches.Attach("pipelines", c)
		return pipelines.New(d.db, d.outbox, c)
	}},
	{"apikeys", apikeys.Migrations, func(d deps) kernel.Module { return apikeys.New(d.db, d.outbox) }},
	// The trash depends on no module: contacts, deals and tasks record what they move to it
	// and register how to restore and purge it.
	{"trash", trash.Migrations, func(d deps) kernel.Module {
		return trash.New(d.db, trash.Options{Retention: d.cfg.TrashRetention, Queue: d.queue, Now: d.opts.now()})
	}},
	{"contacts", contacts.Migrations, func(d deps) kernel.Module { return contacts.New(d.db, d.outbox) }},
	{"timeline", timeline.Migrations, func(d deps) kernel.Module { return timeline.New(d.db, d.outbox) }},
	{"deals", deals.Migrations, func(d deps) kernel.Module { return deals.New(d.db, d.outbox) }},
	{"tasks", tasks.Migrations, func(d deps) kernel.Module { return tasks.New(d.db, d.outbox, time.Now) }},
	{"analytics", analytics.Migrations, func(d deps) kernel.Module {
		c := cache.New(d.cfg.AnalyticsCacheTTL, cache.WithClock(d.opts.now()))
		d.caches.Attach("analytics", c)
		return analytics.New(d.db, c)
	}},
	{"webhooks", webhooks.Migrations, func(d deps) kernel.Module {
		return webhooks.New(d.db, webhooks.Options{AppSecret: d.tokens.Secret(), Now: d.opts.now(),
			Settings: webhooks.Settings{MaxEndpoints: d.cfg.WebhookMaxEndpoints, AllowPrivate: d.cfg.WebhookAllowPrivate},
			Outbox:   d.outbox, Queue: d.queue, Schedule: d.cfg.WebhookRetrySchedule, DisableAfter: d.cfg.WebhookDisableAfter,
			Retention: d.cfg.EventRetention})
	}},
	{"invitations", invitations.Migrations, func(d deps) kernel.Module { return invitations.New(d.db, d.opts.now()) }},
	{"imports", imports.Migrations, func(d deps) kernel.Module { return imports.New(d.db, d.queue) }},
	// add new modules above this line, in dependency order
}

// Sources lists the migrations of the platform and of every module, in dependency order.
func Sources() []migrate.Source {
	out := []migrate.Source{
		{Module: "database", FS: database.Migrations()},
		{Module: "idempotency", FS: idempotency.Migrations()},
		{Module: "events", FS: events.Migrations()},
	}
	for _, m := range catalog {
		out = append(out, migrate.Source{Module: m.name, FS: m.migrations()})
	}
	return out
}

// Options are knobs that are not configuration: tests use them to make hashing cheap and to
// move time forward.
type Options struct {
	HashParams *argon2id.Params
	// Now is the clock of the analytics cache and of the in-memory sign-in counters; nil is
	// time.Now.
	Now func() time.Time
	// TracerProvider, when set, traces requests, their SQL statements and queue jobs (see
	// platform/tracing); nil traces nothing.
	TracerProvider trace.TracerProvider
}

// now is the clock of o.
func (o Options) now() func() time.Time {
	if o.Now == nil {
		return time.Now
	}
	return o.Now
}

// App is a built service.
type App struct {
	Config  config.Config
	Log     *slog.Logger
	DB      *database.DB
	Kernel  *kernel.Kernel
	Tokens  *auth.Tokens
	HTTP    *fiber.App
	Metrics *web.Metrics
	// Outbox is the change feed; Queue the durable job queue (worked once Start runs).
	Outbox *events.Outbox
	Queue  *queue.Queue
	// Caches keeps the caches of every replica in step (listening once Start runs).
	Caches *cache.Bus
	// Modules are the built modules, in catalog order (tests reach a module's service here).
	Modules []kernel.Module
}

// New builds the service on an open database.
func New(cfg config.Config, log *slog.Logger, db *database.DB, o Options) (*App, error) {
	secret := []byte(cfg.JWTSecret)
	if len(secret) == 0 {
		log.Warn("JWT_SECRET is not set: using a random key, so tokens will not survive a restart")
		secret = auth.RandomSecret()
	}
	tokens := auth.NewTokens(secret, cfg.JWTIssuer, cfg.AccessTokenTTL, cfg.RefreshTokenTTL)
	throttle, err := newThrottle(cfg, o.now())
	if err != nil {
		return nil, err
	}
	outbox := events.New(db, events.WithClock(o.now()))
	jobs := queue.New(db, queue.Options{Workers: cfg.QueueWorkers, Log: log, TracerProvider: o.TracerProvider})
	outbox.Schedule(jobs, cfg.EventRetention)
	caches := cache.NewBus(db, log)
	d := deps{cfg: cfg, db: db, tokens: tokens, opts: o, throttle: throttle, outbox: outbox, queue: jobs, caches: caches, log: log}
	modules := make([]kernel.Module, 0, len(catalog))
	for _, m := range catalog {
		modules = append(modules, m.build(d))
	}
	k := kernel.New()
	if err := k.Boot(modules...); err != nil {
		return nil, err
	}
	memberships, err := kernel.Resolve[auth.Memberships](k)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	accounts, err := kernel.Resolve[auth.Accounts](k)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	// Roles are cached per organization and user; every membership write (a trigger, in its
	// transaction) invalidates the organization's on every replica.
	roles := cache.New(time.Minute)
	caches.AttachNotified("memberships", roles)
	guard := web.NewGuard(tokens, memberships, accounts).CacheMemberships(roles)
	// The writing replica reads its own membership writes at once: it drops the organization's
	// roles when the change commits (the trigger's notification comes a moment later).
	kernel.Handle(k, func(ctx context.Context, e orgsapi.MemberRemoved) error { return roles.Invalidate(ctx, e.OrgID) })
	kernel.Handle(k, func(ctx context.Context, e orgsapi.MemberRoleChanged) error { return roles.Invalidate(ctx, e.OrgID) })
	kernel.Handle(k, func(ctx context.Context, e orgsapi.OrganizationClosed) error { return roles.Invalidate(ctx, e.OrgID) })
	keys, err := kernel.Resolve[auth.APIKeys](k)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	// API keys are counted in the sign-in throttle's store: in Redis when REDIS_URL is set, so
	// that replicas share each key's limit.
	guard.AcceptAPIKeys(keys, web.KeyLimits{Store: throttle.Store, Limit: cfg.APIKeyRateLimit})
	if err := jobs.Open(true); err != nil {
		return nil, err
	}

	metrics := web.NewMetrics()
	metrics.Registry.MustRegister(database.NewPoolCollector(db))
	// Modules with metrics of their own (webhook deliveries) are collectors.
	for _, m := range modules {
		if c, ok := m.(prometheus.Collector); ok {
			metrics.Registry.MustRegister(c)
		}
	}
	httpApp := web.NewApp(web.Options{Logger: log, Metrics: metrics, RequestTimeout: cfg.RequestTimeout, ReadTimeout: cfg.ReadTimeout,
		TracerProvider: o.TracerProvider, ExportTimeout: cfg.ExportTimeout})
	web.MountOps(httpApp, func(ctx context.Context) error { return db.Pool.Ping(ctx) }, metrics)
	openapi.Mount(httpApp)
	// List cursors are signed with a key derived from the JWT secret: replicas sharing it
	// accept each other's cursors, and no other configuration is needed.
	httpApp.Use(web.SignCursors(database.NewCursors(secret)))
	routes := web.NewRoutes(httpApp.Group("/api/v1"), guard, idempotency.New(db, cfg.RequestTimeout, secret).Handler())
	for _, m := range modules {
		if r, ok := m.(web.Router); ok {
			r.Routes(routes)
		}
	}
	outbox.Mount(routes, cfg.EventRetention)
	return &App{Config: cfg, Log: log, DB: db, Kernel: k, Tokens: tokens, HTTP: httpApp, Metrics: metrics, Modules: modules,
		Outbox: outbox, Queue: jobs, Caches: caches}, nil
}

// newThrottle keeps sign-in counters in Redis when REDIS_URL is set, so replicas share them,
// and in memory otherwise.
func newThrottle(cfg config.Config, now func() time.Time) (identity.Throttle, error) {
	t := identity.Throttle{
		Store:   ratelimit.NewMemory(ratelimit.WithClock(now)),
		PerIP:   ratelimit.Rule{Name: "login-ip", Limit: cfg.LoginIPLimit, Window: cfg.LoginIPWindow},
		PerUser: ratelimit.Rule{Name: "login-account", Limit: cfg.LoginUserLimit, Window: cfg.LoginUserWindow},
	}
	if cfg.RedisURL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := ratelimit.NewRedis(ctx, cfg.RedisURL, "crm:")
		if err != nil {
			return t, err
		}
		t.Store = r
	}
	return t, nil
}

// Serve listens on addr until ctx ends (SIGTERM), then stops accepting connections, lets the
// requests in flight finish within the shutdown timeout, and returns.
func (a *App) Serve(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return a.ServeListener(ctx, ln)
}

// Start begins the background work of the process until ctx ends or Stop: working the job
// queue (webhook deliveries, the feed's sequencer, retention), polling the sequencer, so
// that events reach the feed and webhooks within a fraction of a second of their commit, and
// listening for the other replicas' cache invalidations.
func (a *App) Start(ctx context.Context) error {
	if err := a.Queue.Start(ctx); err != nil {
		return err
	}
	a.Caches.Start(ctx)
	go a.Outbox.Run(ctx, a.Log)
	return nil
}

// Stop finishes the background work: the jobs being worked get until ctx ends.
func (a *App) Stop(ctx context.Context) error {
	return a.Queue.Stop(ctx)
}

// Work runs only the background work, without HTTP, until ctx ends (crm worker).
func (a *App) Work(ctx context.Context) error {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	if err := a.Start(work); err != nil {
		return err
	}
	<-ctx.Done()
	a.Log.Info("shutting down: finishing running jobs", "timeout", a.Config.ShutdownTimeout.String())
	stop, cancelStop := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancelStop()
	return a.Stop(stop)
}

// ServeListener is Serve on an open listener; the process also does the background work.
func (a *App) ServeListener(ctx context.Context, ln net.Listener) error {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	if err := a.Start(work); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		a.Log.Info("listening", "addr", ln.Addr().String())
		errc <- a.HTTP.Listener(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: finishing in-flight requests", "timeout", a.Config.ShutdownTimeout.String())
	if err := a.HTTP.ShutdownWithTimeout(a.Config.ShutdownTimeout); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	closing, cancelClose := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancelClose()
	if err := a.Close(closing); err != nil {
		a.Log.Error("closing modules", "error", err.Error())
	}
	stop, cancelStop := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancelStop()
	if err := a.Stop(stop); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.Log.Info("stopped")
	return nil
}

// Closer is a module with work to finish when the process stops (writes it batches).
type Closer interface {
	Close(ctx context.Context) error
}

// Close lets every module that batches writes finish them (the API keys' last_used_at). The
// process calls it once HTTP has stopped; tests call it before they read what was batched.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	for _, m := range a.Modules {
		if c, ok := m.(Closer); ok {
			if err := c.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", m.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}
