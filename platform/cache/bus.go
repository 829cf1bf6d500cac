package cache

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"github.com/mini-crm/crm/platform/database"
)

// Channel is the PostgreSQL notification channel that carries invalidations between the
// processes sharing a database. A payload is "<cache name>:<organization id>".
const Channel = "crm_cache"

// Bus keeps the caches of every process sharing a database in step. Invalidate sends a
// NOTIFY inside the write's transaction, which PostgreSQL delivers to every listening process,
// this one included, when (and only when) the write commits. Each process listens on one
// dedicated connection (pgxlisten, reconnecting). While that connection is down a process may
// miss invalidations, so its caches are bypassed (every Get misses) from the moment the
// connection is lost until it is listening again, and everything cached before is dropped then.
//
// A process that never runs the bus (a test building the service without starting it) is the
// only process it knows of: its caches trust their own invalidations.
type Bus struct {
	db     *database.DB
	log    *slog.Logger
	mu     sync.Mutex
	caches map[string]*Cache
	// state: 0 not running (local invalidation is enough), 1 listening, 2 not listening.
	state atomic.Int32
}

const (
	busLocal = iota
	busListening
	busDown
)

// NewBus returns a bus over db; Run starts listening.
func NewBus(db *database.DB, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.Default()
	}
	return &Bus{db: db, log: log, caches: map[string]*Cache{}}
}

// Attach makes c a cache of the bus under name: its Invalidate reaches every process, and it
// is bypassed while this process is not listening.
func (b *Bus) Attach(name string, c *Cache) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.caches[name] = c
	c.bus, c.name = b, name
}

// AttachNotified is Attach for a cache whose invalidations come only as notifications
// (sent by database triggers, say), never from this process's own Invalidate: such a cache
// serves only while the bus listens, and never in a process that does not run the bus.
func (b *Bus) AttachNotified(name string, c *Cache) {
	b.Attach(name, c)
	c.notifiedOnly = true
}

// Listening reports whether the bus has been started and listens now.
func (b *Bus) Listening() bool { return b.state.Load() == busListening }

// usable reports whether the caches may serve entries now.
func (b *Bus) usable() bool { return b.state.Load() != busDown }

// Start listens in the background until ctx ends, reconnecting after a second when the
// connection is lost; the caches are bypassed from now until the connection listens. The
// returned channel is closed once the listener has stopped.
func (b *Bus) Start(ctx context.Context) <-chan struct{} {
	b.state.Store(busDown)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.run(ctx)
	}()
	return done
}

func (b *Bus) run(ctx context.Context) {
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			b.state.Store(busDown)
			return pgx.ConnectConfig(ctx, b.db.Pool.Config().ConnConfig.Copy())
		},
		LogError: func(ctx context.Context, err error) {
			b.state.Store(busDown)
			if ctx.Err() == nil {
				b.log.Warn("cache invalidations: not listening; caches are bypassed until the listener is back", "error", err.Error())
			}
		},
		ReconnectDelay: time.Second,
	}
	l.Handle(Channel, (*busHandler)(b))
	err := l.Listen(ctx)
	b.state.Store(busDown)
	if err != nil && !errors.Is(err, context.Canceled) {
		b.log.Error("cache invalidations: listener stopped", "error", err.Error())
	}
}

// busHandler applies the notifications of the channel.
type busHandler Bus

// HandleBacklog runs once the connection listens again: what was cached before may have
// missed invalidations, so it is all dropped before the caches serve again.
func (h *busHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	b := (*Bus)(h)
	b.mu.Lock()
	for _, c := range b.caches {
		c.DropAll()
	}
	b.mu.Unlock()
	b.state.Store(busListening)
	return nil
}

func (h *busHandler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	b := (*Bus)(h)
	name, org, ok := strings.Cut(n.Payload, ":")
	id, err := strconv.ParseInt(org, 10, 64)
	if !ok || err != nil {
		return errors.New("cache invalidations: malformed payload " + strconv.Quote(n.Payload))
	}
	b.mu.Lock()
	c := b.caches[name]
	b.mu.Unlock()
	if c != nil {
		c.DropOrg(id)
	}
	return nil
}

// notify sends the invalidation of org in cache name, inside ctx's transaction when there is
// one (delivered at its commit, to every process).
func (b *Bus) notify(ctx context.Context, name string, org int64) error {
	_, err := b.db.Q(ctx).Exec(ctx, "SELECT pg_notify($1, $2)", Channel, name+":"+strconv.FormatInt(org, 10))
	if err != nil {
		return database.MapError(err)
	}
	return nil
}
