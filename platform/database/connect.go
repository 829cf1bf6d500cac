package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultMaxConns is the pool size when Options.MaxConns is not set. Requests hold a
// connection only while they run a statement or a transaction, so a pool a few times the
// server's core count costs little throughput, and it leaves room for the requests that
// cannot progress for a while: a long transaction and the writes queued behind its row locks
// each hold a connection, and with a pool as small as the cores (pgx's default, 4 on two
// cores) they take all of it, so routes that touch none of those rows wait too. Measured on
// two cores, 16 kept the throughput of 4 and 8, survived a lock holder with eight writes
// queued behind it (8 did not), while 32 only lengthened the tail latency.
const DefaultMaxConns = 16

// Backoff of the first connection: the first wait, doubled after each failed attempt up to
// the cap.
const (
	DefaultRetryInitial = 250 * time.Millisecond
	DefaultRetryMax     = 5 * time.Second
)

// Retry says how long the first connection to the server is retried while the server cannot
// be reached yet: a container that starts with its database, a server still starting up or
// not yet listening on TCP. Only failures to reach the server are retried; when the server
// answers with a refusal that waiting does not cure (authentication, a database or role that
// does not exist) the error is returned at once.
type Retry struct {
	// Timeout bounds the whole wait, attempts included. Zero makes one attempt.
	Timeout time.Duration
	// Initial is the first wait (DefaultRetryInitial when zero); each further wait doubles,
	// up to Max (DefaultRetryMax when zero).
	Initial, Max time.Duration
	// Log receives a warning before each wait; slog.Default() when nil.
	Log *slog.Logger
}

// Retryable reports whether err, from an attempt to connect, means that the server could not
// be reached or is not ready yet, so that a later attempt may succeed: the network failed
// (refused, unreachable, timed out, name not resolved, connection cut), or the server said
// it is starting or shutting down, or has no connection slot free. Any other answer from
// the server is final.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	switch pgErr.Code {
	case "57P03", // cannot_connect_now: starting up, shutting down, in recovery
		"57P01", // admin_shutdown
		"57P02", // crash_shutdown
		"53300": // too_many_connections
		return true
	}
	return strings.HasPrefix(pgErr.Code, "08") // connection_exception
}

// Do runs attempt until it succeeds, fails with an error that Retryable rejects, ctx ends or
// the timeout passes, waiting between attempts with a capped exponential backoff and logging
// each wait with the attempt number, its error and the next delay. what names the attempt
// in the log and in the error. The context given to attempt ends with the timeout.
func (r Retry) Do(ctx context.Context, what string, attempt func(ctx context.Context) error) error {
	if r.Timeout <= 0 {
		return attempt(ctx)
	}
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	delay := r.Initial
	if delay <= 0 {
		delay = DefaultRetryInitial
	}
	maxDelay := r.Max
	if maxDelay <= 0 {
		maxDelay = DefaultRetryMax
	}
	start := time.Now()
	deadline := start.Add(r.Timeout)
	actx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var last error
	for n := 1; ; n++ {
		err := attempt(actx)
		if err != nil && last != nil && ctx.Err() == nil && (actx.Err() != nil || !time.Now().Before(deadline)) {
			// The wait ran out during this attempt: the failure before it says more than
			// the deadline does.
			err = last
		}
		last = err
		if err == nil {
			if n > 1 {
				log.Info(what+": connected", "attempt", n, "waited", time.Since(start).Round(time.Millisecond).String())
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w (while waiting: %w)", what, ctx.Err(), err)
		}
		if !Retryable(err) {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s: server not reachable within %s (%d attempts): %w", what, r.Timeout, n, err)
		}
		wait := min(delay, left).Round(time.Millisecond)
		log.Warn(what+": server not reachable, retrying",
			"attempt", n, "error", err.Error(), "next_delay", wait.String(), "timeout", r.Timeout.String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (while waiting: %w)", what, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(delay*2, maxDelay)
	}
}

// WaitForServer returns once the server at url accepts connections, retrying as r says. A
// database that does not exist yet counts as reachable, so that migrations can create it.
func WaitForServer(ctx context.Context, url string, r Retry) error {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("database: parse url: %w", err)
	}
	cfg.ConnectTimeout = attemptTimeout
	return r.Do(ctx, "database", func(ctx context.Context) error {
		c, err := pgconn.ConnectConfig(ctx, cfg)
		if err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
				return nil
			}
			return fmt.Errorf("database: connect: %w", err)
		}
		return c.Close(ctx)
	})
}

// attemptTimeout bounds one connection attempt, so that a server whose packets are dropped
// costs one attempt and not the whole wait.
const attemptTimeout = 5 * time.Second
