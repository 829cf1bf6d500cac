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
}

// New returns a cache whose entries live for ttl.
func New(ttl time.Duration) *Cache {
	cleanup := ttl * 2
	if cleanup < time.Minute {
		cleanup = time.Minute
	}
	return &Cache{ttl: ttl, c: gocache.New(ttl, cleanup), gen: map[int64]uint64{}}
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
	return c.c.Get(c.key(org, key))
}

// Set stores v under key for the organization.
func (c *Cache) Set(org int64, key string, v any) {
	if !c.Enabled() {
		return
	}
	c.c.SetDefault(c.key(org, key), v)
}

// DropOrg forgets every entry of the organization at once.
func (c *Cache) DropOrg(org int64) {
	c.mu.Lock()
	c.gen[org]++
	c.mu.Unlock()
}
