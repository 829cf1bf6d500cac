package database_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/testdb"
)

// A long transaction holds a row lock and writes to that row queue behind it, each holding a
// connection while it waits. With the default pool, requests that touch other rows must
// still get connections, several at once, and finish while the queue is still stuck.
func TestDefaultPoolServesOtherRequestsWhileWritesQueueBehindALock(t *testing.T) {
	const (
		queued = 7 // writes waiting for the lock: with its holder, 8 connections taken
		others = 4 // unrelated requests that must all be in flight at the same time
	)
	url := testdb.URL(t, sources)
	db, err := database.Open(context.Background(), url, database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Pool.Config().MaxConns; got != database.DefaultMaxConns {
		t.Fatalf("pool size %d, want the default %d", got, database.DefaultMaxConns)
	}
	ctx := context.Background()
	if err := insert(ctx, db, 1, "locked"); err != nil {
		t.Fatal(err)
	}
	monitor, err := pgx.Connect(ctx, url) // outside the pool
	if err != nil {
		t.Fatal(err)
	}
	defer monitor.Close(ctx)

	lockRow := func(ctx context.Context) error {
		_, err := db.Q(ctx).Exec(ctx, "SELECT id FROM things WHERE id = 1 FOR UPDATE")
		return err
	}
	release := make(chan struct{})
	released := false
	releaseOnce := func() {
		if !released {
			released = true
			close(release)
		}
	}
	defer releaseOnce()

	locked := make(chan struct{})
	holderDone := make(chan error, 1)
	go func() {
		holderDone <- db.WithinTx(ctx, func(ctx context.Context) error {
			if err := lockRow(ctx); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	select {
	case <-locked:
	case err := <-holderDone:
		t.Fatalf("lock holder: %v", err)
	}
	queuedDone := make(chan error, queued)
	for range queued {
		go func() { queuedDone <- db.WithinTx(ctx, lockRow) }()
	}
	waitFor(t, monitor, queued, db.Pool.Config().MaxConns)

	// The unrelated requests: each writes another row and waits, inside its transaction,
	// until all of them are in flight.
	reqCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	arrived := make(chan struct{}, others)
	allIn := make(chan struct{})
	othersDone := make(chan error, others)
	for i := range others {
		go func() {
			othersDone <- db.WithinTx(reqCtx, func(ctx context.Context) error {
				if err := insert(ctx, db, int64(100+i), fmt.Sprint("other ", i)); err != nil {
					return err
				}
				arrived <- struct{}{}
				select {
				case <-allIn:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
		}()
	}
	for n := 0; n < others; n++ {
		select {
		case <-arrived:
		case <-reqCtx.Done():
			t.Fatalf("only %d of %d other requests got a connection while %d were held by a lock and its queue (pool of %d)",
				n, others, queued+1, db.Pool.Config().MaxConns)
		}
	}
	close(allIn)
	for range others {
		if err := <-othersDone; err != nil {
			t.Fatalf("other request: %v", err)
		}
	}

	// Ordering: the other requests finished while the lock and its queue were still there.
	select {
	case err := <-holderDone:
		t.Fatalf("lock holder ended early: %v", err)
	case err := <-queuedDone:
		t.Fatalf("a queued write ended before the lock was released: %v", err)
	default:
	}
	releaseOnce()
	if err := <-holderDone; err != nil {
		t.Fatal(err)
	}
	for range queued {
		if err := <-queuedDone; err != nil {
			t.Fatalf("queued write: %v", err)
		}
	}
	if n := count(t, db); n != 1+others {
		t.Fatalf("%d rows, want %d", n, 1+others)
	}
}

// waitFor returns once n sessions of the database wait for a lock.
func waitFor(t *testing.T, monitor *pgx.Conn, n int, poolSize int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		var waiting int
		err := monitor.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatalf("%d of %d writes queued behind the lock: %v", waiting, n, err)
		}
		if waiting == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d writes queued behind the lock (pool of %d)", waiting, n, poolSize)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Every connection of the pool starts with the session settings, whichever it is.
func TestPoolConnectionsStartWithTheSessionSettings(t *testing.T) {
	t.Parallel()
	db, err := database.Open(context.Background(), testdb.URL(t, sources), database.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for i := range 2 {
		conn, err := db.Pool.Acquire(ctx) // two at once: two connections
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		for k, want := range map[string]string{"max_parallel_workers_per_gather": "0", "synchronize_seqscans": "off"} {
			var got string
			if err := conn.QueryRow(ctx, "SELECT current_setting($1)", k).Scan(&got); err != nil || got != want {
				t.Errorf("connection %d: %s = %q (%v), want %q", i, k, got, err, want)
			}
		}
	}
}
