package apikeys

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/mini-crm/crm/platform/database"
)

// usage collects when keys were last used and writes it in batches, so that a request made
// with a key costs no write: every flush is one UPDATE per organization for all of its keys
// used since the last one. Flushes run every interval once a key has been used, and a last one
// runs on Close. What a process that dies loses is at most one interval of last_used_at.
type usage struct {
	store    store
	interval time.Duration

	mu      sync.Mutex
	seen    map[int64]use // by key id
	started bool
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

type use struct {
	org int64
	at  time.Time
}

func newUsage(s store, interval time.Duration) *usage {
	return &usage{store: s, interval: interval, seen: map[int64]use{}, stop: make(chan struct{}), done: make(chan struct{})}
}

// touch notes that key of org was used at at.
func (u *usage) touch(key, org int64, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if cur, ok := u.seen[key]; !ok || at.After(cur.at) {
		u.seen[key] = use{org: org, at: at}
	}
	if !u.started && !u.closed {
		u.started = true
		go u.run()
	}
}

func (u *usage) run() {
	defer close(u.done)
	t := time.NewTicker(u.interval)
	defer t.Stop()
	for {
		select {
		case <-u.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), u.interval)
			if err := u.flush(ctx); err != nil {
				slog.Default().Warn("api keys: writing last_used_at failed; retrying at the next flush", "error", err.Error())
			}
			cancel()
		}
	}
}

// flush writes what was collected. What fails to be written is kept for the next flush.
func (u *usage) flush(ctx context.Context) error {
	u.mu.Lock()
	seen := u.seen
	u.seen = map[int64]use{}
	u.mu.Unlock()
	if len(seen) == 0 {
		return nil
	}
	type batch struct {
		ids []int64
		at  []time.Time
	}
	byOrg := map[int64]*batch{}
	for id, s := range seen {
		b := byOrg[s.org]
		if b == nil {
			b = &batch{}
			byOrg[s.org] = b
		}
		b.ids = append(b.ids, id)
		b.at = append(b.at, s.at)
	}
	var errs []error
	for org, b := range byOrg {
		// Each organization's keys are written under its own tenant scope (row-level security).
		if err := u.store.touch(database.WithTenant(ctx, org), org, b.ids, b.at); err != nil {
			errs = append(errs, err)
			u.mu.Lock()
			for i, id := range b.ids {
				if cur, ok := u.seen[id]; !ok || b.at[i].After(cur.at) {
					u.seen[id] = use{org: org, at: b.at[i]}
				}
			}
			u.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// close stops the periodic flushes and writes what is left.
func (u *usage) close(ctx context.Context) error {
	u.mu.Lock()
	wasStarted, wasClosed := u.started, u.closed
	u.closed = true
	u.mu.Unlock()
	if wasStarted && !wasClosed {
		close(u.stop)
		<-u.done
	}
	return u.flush(ctx)
}
