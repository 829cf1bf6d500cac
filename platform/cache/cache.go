// Package cache is an in-process cache whose entries belong to an organization. Dropping an
// organization's entries is O(1): each organization has a generation that is part of every
// key, and dropping bumps it, so stale entries are never read again and expire on their own.
package cache

import (
	"strconv"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
)

// Cache is safe for concurrent use. A zero TTL disables it: Get always misses.
type Cache struct {
	ttl time.Duration
	c   *gocache.Cache
	mu  sync.Mutex
	gen map[int64]uint64
	// now is the clock an entry's age is read from.
	now func() time.Time
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

func (c *Cache) key(org int64, key string) string {
	c.mu.Lock()
	g := c.gen[org]
	c.mu.Unlock()
	return strconv.FormatInt(org, 10) + ":" + strconv.FormatUint(g, 10) + ":" + key
}

// Get returns the organization's value under key.
func (c *Cache) Get(org int64, key string) (any, bool) {
	if !c.Enabled() {
		return nil, false
	}
	v, ok := c.c.Get(c.key(org, key))
	if !ok {
		return nil, false
	}
	e := v.(entry)
	if !c.now().Before(e.expires) {
		return nil, false
	}
	return e.v, true
}

// Set stores v under key for the organization.
func (c *Cache) Set(org int64, key string, v any) {
	if !c.Enabled() {
		return
	}
	c.c.SetDefault(c.key(org, key), entry{v: v, expires: c.now().Add(c.ttl)})
}

// DropOrg forgets every entry of the organization at once.
func (c *Cache) DropOrg(org int64) {
	c.mu.Lock()
	c.gen[org]++
	c.mu.Unlock()
}
