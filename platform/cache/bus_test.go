package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mini-crm/crm/platform/cache"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/testdb"
)

// process is one of two service processes sharing a database: its own pool, bus and cache.
type process struct {
	db    *database.DB
	cache *cache.Cache
}

func newProcess(t *testing.T, url string) process {
	t.Helper()
	db, err := database.Open(context.Background(), url, database.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	bus := cache.NewBus(db, nil)
	c := cache.New(time.Hour)
	bus.Attach("reports", c)
	ctx, cancel := context.WithCancel(context.Background())
	done := bus.Start(ctx)
	t.Cleanup(func() { cancel(); <-done })
	return process{db: db, cache: c}
}

// waitFor polls cond every 5 ms for up to limit and returns how long it took to hold.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func cached(c *cache.Cache, org int64) bool { _, ok := c.Get(org, "summary"); return ok }

// A write committed through one process drops the organization's entries in the other within
// a second (the target is 100 ms); a write that rolls back drops nothing anywhere, and other
// organizations keep theirs.
func TestAnInvalidationReachesEveryProcessAtCommit(t *testing.T) {
	t.Parallel()
	url := testdb.Empty(t)
	a, b := newProcess(t, url), newProcess(t, url)
	for _, p := range []process{a, b} {
		waitFor(t, 5*time.Second, "listening", func() bool { p.cache.Set(7, "summary", 1); return cached(p.cache, 7) })
		p.cache.Set(8, "summary", 1)
	}

	ctx := context.Background()
	errRollback := errors.New("roll back")
	err := a.db.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.cache.Invalidate(ctx, 7); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if !cached(a.cache, 7) || !cached(b.cache, 7) {
		t.Fatal("a write that rolled back dropped entries")
	}

	var committed time.Time
	if err := a.db.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.cache.Invalidate(ctx, 7); err != nil {
			return err
		}
		if !cached(a.cache, 7) {
			t.Error("dropped before the write committed")
		}
		committed = time.Now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if cached(a.cache, 7) {
		t.Error("the writing process still serves the organization's entry after its commit")
	}
	waitFor(t, time.Second, "the other process drops the entry", func() bool { return !cached(b.cache, 7) })
	t.Logf("the other process dropped the entry %s after the commit", time.Since(committed).Round(time.Millisecond))
	if !cached(a.cache, 8) || !cached(b.cache, 8) {
		t.Error("another organization's entries were dropped")
	}
}

// While a process's listening connection is down it serves nothing from its caches (it may
// miss invalidations); listening again, it serves only what was cached after.
func TestACacheIsBypassedWhileItsListenerIsDown(t *testing.T) {
	t.Parallel()
	url := testdb.Empty(t)
	p := newProcess(t, url)
	waitFor(t, 5*time.Second, "listening", func() bool { p.cache.Set(7, "summary", 1); return cached(p.cache, 7) })

	ctx := context.Background()
	tag, err := p.db.Pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'listen %'`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("terminate the listening connection: %v (%d rows)", err, tag.RowsAffected())
	}
	waitFor(t, time.Second, "bypassed once the connection is lost", func() bool { return !cached(p.cache, 7) })
	p.cache.Set(7, "summary", 2) // stored while down: may be stale, must not outlive the outage
	waitFor(t, 5*time.Second, "serving again after reconnecting", func() bool {
		v, ok := p.cache.Get(7, "summary")
		if ok && v == 2 {
			t.Fatal("an entry stored while not listening is served after reconnecting")
		}
		p.cache.Set(7, "summary", 3)
		v, ok = p.cache.Get(7, "summary")
		return ok && v == 3
	})
}

// A cache whose invalidations come only from the database (a trigger's pg_notify) serves
// nothing until its process listens, and drops what a notification names.
func TestANotifiedCacheServesOnlyWhileListening(t *testing.T) {
	t.Parallel()
	url := testdb.Empty(t)
	db, err := database.Open(context.Background(), url, database.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	bus := cache.NewBus(db, nil)
	c := cache.New(time.Hour)
	bus.AttachNotified("roles", c)
	c.Set(7, "summary", 1)
	if cached(c, 7) {
		t.Fatal("a notified cache serves in a process that does not listen")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := bus.Start(ctx)
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, 5*time.Second, "listening", func() bool { c.Set(7, "summary", 1); return cached(c, 7) })
	if _, err := db.Pool.Exec(ctx, `SELECT pg_notify($1, 'roles:7')`, cache.Channel); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "dropped by the database's notification", func() bool { return !cached(c, 7) })
}
