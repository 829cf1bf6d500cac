// Package ratelimit counts events per key in fixed time windows. The in-memory limiter serves
// a single instance; the Redis limiter keeps the counters in Redis so that every replica of
// the service shares them.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Rule is how many events a key may have in one window.
type Rule struct {
	Name   string // distinguishes the counters of different rules
	Limit  int
	Window time.Duration
}

// Store keeps counters.
type Store interface {
	// Hit adds one event for key under rule and returns the count in the current window and
	// the time until the window ends.
	Hit(ctx context.Context, rule Rule, key string) (count int64, reset time.Duration, err error)
	// Peek returns the count without adding to it.
	Peek(ctx context.Context, rule Rule, key string) (count int64, reset time.Duration, err error)
	// Reset forgets key's counter.
	Reset(ctx context.Context, rule Rule, key string) error
}

// Memory is an in-process Store.
type Memory struct {
	mu      sync.Mutex
	windows map[string]window
	now     func() time.Time
	sweep   time.Time
}

type window struct {
	count int64
	ends  time.Time
}

// MemoryOption configures a Memory store.
type MemoryOption func(*Memory)

// WithClock reads the time from now instead of time.Now, so that tests can end a window
// without waiting for it.
func WithClock(now func() time.Time) MemoryOption {
	return func(m *Memory) { m.now = now }
}

// NewMemory returns an empty in-process store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{windows: map[string]window{}, now: time.Now}
	for _, o := range opts {
		o(m)
	}
	return m
}

func (m *Memory) current(rule Rule, key string, add int64) (int64, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if now.After(m.sweep) { // drop finished windows now and then, so memory stays bounded
		for k, w := range m.windows {
			if !now.Before(w.ends) {
				delete(m.windows, k)
			}
		}
		m.sweep = now.Add(time.Minute)
	}
	k := rule.Name + "\x00" + key
	w := m.windows[k]
	if !now.Before(w.ends) {
		w = window{ends: now.Add(rule.Window)}
	}
	w.count += add
	if add > 0 {
		m.windows[k] = w
	}
	return w.count, w.ends.Sub(now)
}

// Hit implements Store.
func (m *Memory) Hit(_ context.Context, rule Rule, key string) (int64, time.Duration, error) {
	c, r := m.current(rule, key, 1)
	return c, r, nil
}

// Peek implements Store.
func (m *Memory) Peek(_ context.Context, rule Rule, key string) (int64, time.Duration, error) {
	c, r := m.current(rule, key, 0)
	return c, r, nil
}

// Reset implements Store.
func (m *Memory) Reset(_ context.Context, rule Rule, key string) error {
	m.mu.Lock()
	delete(m.windows, rule.Name+"\x00"+key)
	m.mu.Unlock()
	return nil
}

// Redis is a Store shared by every instance that uses the same Redis.
type Redis struct {
	client *redis.Client
	prefix string
}

// NewRedis returns a store on the Redis at url (redis://host:port/db).
func NewRedis(ctx context.Context, url, prefix string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: parse REDIS_URL: %w", err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("ratelimit: redis ping: %w", err)
	}
	return &Redis{client: c, prefix: prefix}, nil
}

// Close closes the client.
func (r *Redis) Close() error { return r.client.Close() }

// hit increments the counter and starts its window on the first event, atomically.
var hit = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`)

func (r *Redis) key(rule Rule, key string) string { return r.prefix + rule.Name + ":" + key }

// Hit implements Store.
func (r *Redis) Hit(ctx context.Context, rule Rule, key string) (int64, time.Duration, error) {
	res, err := hit.Run(ctx, r.client, []string{r.key(rule, key)}, rule.Window.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("ratelimit: %w", err)
	}
	return res[0], time.Duration(res[1]) * time.Millisecond, nil
}

// Peek implements Store.
func (r *Redis) Peek(ctx context.Context, rule Rule, key string) (int64, time.Duration, error) {
	k := r.key(rule, key)
	pipe := r.client.Pipeline()
	get := pipe.Get(ctx, k)
	ttl := pipe.PTTL(ctx, k)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, 0, fmt.Errorf("ratelimit: %w", err)
	}
	n, err := get.Int64()
	if errors.Is(err, redis.Nil) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("ratelimit: %w", err)
	}
	return n, max(ttl.Val(), 0), nil
}

// Reset implements Store.
func (r *Redis) Reset(ctx context.Context, rule Rule, key string) error {
	return r.client.Del(ctx, r.key(rule, key)).Err()
}
