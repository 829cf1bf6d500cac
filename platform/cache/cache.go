// Package cache is an in-process cache whose entries belong to an organization. Dropping an
// organization's entries is O(1): each organization has a generation that is part of every
// key, and dropping bumps it, so stale entries are never read again and expire on their own.
package cache

import (
	"context"
	"strconv"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"github.com/mini-crm/crm/platform/database"
)

// Cache is safe for concurrent use. A zero TTL disables it: Get always misses.
type Cache struct {
	ttl time.Duration
	c   *gocache.Cache
	mu  sync.Mutex
	gen map[int64]uint64
	// epoch is part of every key too: DropAll bumps it.
	epoch uint64
	// now is the clock an entry's age is read from.
	now func() time.Time
	// bus, when the cache is attached to one, carries its invalidations to every process.
	bus  *Bus
	name string
	// notifiedOnly: see Bus.AttachNotified.
	notifiedOnly bool
}

// entry is a stored value and the moment it stops being served.
type entry struct {
	v       any
	expires time.Time
}

// Option configures a Cache.
type Option func(*Cache)

// WithClock reads the time from now instead of time.Now, so that tests can let entries
// expire without waiting. Expired entries are still dropped from memory on the real clock.
func WithClock(now func() time.Time) Option {
	return func(c *Cache) { c.now = now }
}

// New returns a cache whose entries live for ttl.
func New(ttl time.Duration, opts ...Option) *Cache {
	cleanup := ttl * 2
	if cleanup < time.Minute {
		cleanup = time.Minute
	}
	c := &Cache{ttl: ttl, c: gocache.New(ttl, cleanup), gen: map[int64]uint64{}, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// TTL is the lifetime of an entry.
func (c *Cache) TTL() time.Duration { return c.ttl }

// Enabled reports whether the cache keeps anything.
func (c *Cache) Enabled() bool { return c.ttl > 0 }

// Version is the organization's current version of the cache: it changes with every drop.
// A value computed after reading it is stored with SetAt, so that a value computed from data
// older than a drop is never served.
type Version struct{ epoch, gen uint64 }

// Version returns the organization's current version.
func (c *Cache) Version(org int64) Version {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Version{epoch: c.epoch, gen: c.gen[org]}
}

func (c *Cache) key(org int64, v Version, key string) string {
	return strconv.FormatInt(org, 10) + ":" + strconv.FormatUint(v.epoch, 10) + "." + strconv.FormatUint(v.gen, 10) + ":" + key
}

// Get returns the organization's value under key. A cache attached to a bus that is not
// listening serves nothing: it may have missed another process's invalidation.
func (c *Cache) Get(org int64, key string) (any, bool) {
	if !c.Enabled() || !c.usable() {
		return nil, false
	}
	v, ok := c.c.Get(c.key(org, c.Version(org), key))
	if !ok {
		return nil, false
	}
	e := v.(entry)
	if !c.now().Before(e.expires) {
		return nil, false
	}
	return e.v, true
}

// usable reports whether the cache may serve now (see Bus).
func (c *Cache) usable() bool {
	switch {
	case c.bus == nil:
		return true
	case c.notifiedOnly:
		return c.bus.Listening()
	default:
		return c.bus.usable()
	}
}

// Set stores v under key for the organization.
func (c *Cache) Set(org int64, key string, v any) { c.SetAt(org, c.Version(org), key, v) }

// SetAt stores v, computed after the organization's version was ver, under key: if the
// organization's entries were dropped since, v is stale and is never served.
func (c *Cache) SetAt(org int64, ver Version, key string, v any) {
	if !c.Enabled() {
		return
	}
	c.c.SetDefault(c.key(org, ver, key), entry{v: v, expires: c.now().Add(c.ttl)})
}

// DropOrg forgets every entry of the organization at once, in this process.
func (c *Cache) DropOrg(org int64) {
	c.mu.Lock()
	c.gen[org]++
	c.mu.Unlock()
}

// DropAll forgets every entry of every organization, in this process.
func (c *Cache) DropAll() {
	c.mu.Lock()
	c.epoch++
	c.mu.Unlock()
}

// invalidation is the once-per-transaction key of a cache's invalidation of an organization.
type invalidation struct {
	c   *Cache
	org int64
}

// InvalidatedIn reports whether ctx's transaction has invalidated the organization's entries:
// what it reads of them next is its own uncommitted write, which no entry holds, so it must
// read past the cache (and store nothing).
func (c *Cache) InvalidatedIn(ctx context.Context, org int64) bool {
	return database.SeenInTx(ctx, invalidation{c, org})
}

// Invalidate drops the organization's entries in every process: inside ctx's transaction
// (the write that made them stale), here once it commits and in the other processes through
// the bus, whose notification PostgreSQL delivers at the same commit. Outside a transaction
// both happen at once. A disabled cache has nothing to drop and sends nothing.
func (c *Cache) Invalidate(ctx context.Context, org int64) error {
	if !c.Enabled() || !database.FirstInTx(ctx, invalidation{c, org}) {
		return nil
	}
	if c.bus != nil {
		if err := c.bus.notify(ctx, c.name, org); err != nil {
			return err
		}
	}
	database.AfterCommit(ctx, func() { c.DropOrg(org) })
	return nil
}
