package database_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/testdb"
)

// logRecorder keeps the records logged through it and signals each one.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
	logged  chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{logged: make(chan struct{}, 100)} }

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.records = append(r.records, rec.Clone())
	r.mu.Unlock()
	select {
	case r.logged <- struct{}{}:
	default:
	}
	return nil
}

// waits returns the attributes of every warning about a retry, in order.
func (r *logRecorder) waits() []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, rec := range r.records {
		if rec.Level != slog.LevelWarn || !strings.Contains(rec.Message, "retrying") {
			continue
		}
		attrs := map[string]string{}
		rec.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		out = append(out, attrs)
	}
	return out
}

// The Open tests run serially (no t.Parallel): they time retries and rely on a port that
// nothing listens on staying free.

// freePort returns a loopback address that nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// lateProxy starts listening on addr after delay and forwards every connection to target;
// started is closed once it listens.
func lateProxy(t *testing.T, addr, target string, delay time.Duration) (started <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var l net.Listener
	timer := time.AfterFunc(delay, func() {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("proxy: listen on %s: %v", addr, err)
			return
		}
		mu.Lock()
		l = ln
		mu.Unlock()
		close(ch)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				go func() {
					<-done
					c.Close()
					s.Close()
				}()
				go func() { _, _ = io.Copy(s, c); s.Close() }()
				_, _ = io.Copy(c, s)
			}()
		}
	})
	t.Cleanup(func() {
		timer.Stop()
		close(done)
		mu.Lock()
		if l != nil {
			l.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ch
}

// withHost returns rawURL pointing at addr.
func withHost(t *testing.T, rawURL, addr string) (u, target string) {
	t.Helper()
	p, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	target = p.Host
	p.Host = addr
	return p.String(), target
}

func TestOpenWaitsForAServerThatStartsListeningLater(t *testing.T) {
	addr := freePort(t)
	dbURL, target := withHost(t, testdb.URL(t, sources), addr)
	started := lateProxy(t, addr, target, 1500*time.Millisecond)
	rec := newLogRecorder()

	db, err := database.Open(context.Background(), dbURL, database.Options{
		Connect: database.Retry{Timeout: 60 * time.Second, Log: slog.New(rec)},
	})
	if err != nil {
		t.Fatalf("Open did not wait for the server: %v", err)
	}
	defer db.Close()
	select {
	case <-started:
	default:
		t.Fatal("Open returned before the server listened")
	}
	if n := count(t, db); n != 0 {
		t.Fatalf("count = %d", n)
	}

	waits := rec.waits()
	if len(waits) < 2 {
		t.Fatalf("logged %d waits, want one before each retry: %v", len(waits), waits)
	}
	delay := time.Duration(0)
	for i, w := range waits {
		if w["attempt"] != fmt.Sprint(i+1) {
			t.Errorf("wait %d: attempt = %q", i, w["attempt"])
		}
		if !strings.Contains(w["error"], "refused") {
			t.Errorf("wait %d: error = %q, want the connection failure", i, w["error"])
		}
		d, err := time.ParseDuration(w["next_delay"])
		if err != nil || d <= delay || d > database.DefaultRetryMax {
			t.Errorf("wait %d: next_delay = %q after %s, want a growing, capped delay", i, w["next_delay"], delay)
		}
		delay = d
	}
	if waits[0]["next_delay"] != database.DefaultRetryInitial.String() {
		t.Errorf("first delay = %s, want %s", waits[0]["next_delay"], database.DefaultRetryInitial)
	}
}

func TestOpenGivesUpAfterTheConnectTimeout(t *testing.T) {
	dbURL := "postgres://postgres@" + freePort(t) + "/crm?sslmode=disable"
	rec := newLogRecorder()
	const timeout = 1500 * time.Millisecond
	start := time.Now()
	_, err := database.Open(context.Background(), dbURL, database.Options{
		Connect: database.Retry{Timeout: timeout, Log: slog.New(rec)},
	})
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Open succeeded with nothing listening")
	}
	if elapsed < timeout {
		t.Fatalf("Open gave up after %s, before the connect timeout of %s: %v", elapsed, timeout, err)
	}
	if elapsed > timeout+10*time.Second {
		t.Fatalf("Open took %s with a connect timeout of %s", elapsed, timeout)
	}
	if !strings.Contains(err.Error(), "not reachable within 1.5s") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want the timeout and the last connection failure", err)
	}
	if n := len(rec.waits()); n < 2 {
		t.Fatalf("logged %d waits", n)
	}
}

func TestOpenWithoutConnectTimeoutTriesOnce(t *testing.T) {
	rec := newLogRecorder()
	_, err := database.Open(context.Background(), "postgres://postgres@"+freePort(t)+"/crm?sslmode=disable",
		database.Options{Connect: database.Retry{Log: slog.New(rec)}})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v", err)
	}
	if n := len(rec.waits()); n != 0 {
		t.Fatalf("logged %d waits with no connect timeout", n)
	}
}

func TestOpenFailsAtOnceWhenTheServerRefuses(t *testing.T) {
	good := testdb.URL(t, sources)
	missing, err := database.WithDatabase(good, "crm_no_such_database")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		url     string
		role    string
		sqlCode string
	}{
		"missing database": {missing, "", "3D000"},
		"unknown role":     {good, "no_such_role", "22023"},
		"unknown user":     {strings.Replace(good, "postgres@", "no_such_user@", 1), "", "28000"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := newLogRecorder()
			_, err := database.Open(context.Background(), c.url, database.Options{
				Role:    c.role,
				Connect: database.Retry{Timeout: time.Minute, Log: slog.New(rec)},
			})
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != c.sqlCode {
				t.Fatalf("err = %v, want SQLSTATE %s", err, c.sqlCode)
			}
			if n := len(rec.waits()); n != 0 {
				t.Fatalf("retried %d times an error that waiting cannot cure", n)
			}
		})
	}
}

func TestOpenStopsWaitingWhenCanceled(t *testing.T) {
	rec := newLogRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-rec.logged // the first wait has begun
		cancel()
	}()
	_, err := database.Open(ctx, "postgres://postgres@"+freePort(t)+"/crm?sslmode=disable", database.Options{
		Connect: database.Retry{Timeout: time.Hour, Initial: time.Hour, Log: slog.New(rec)},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(rec.waits()); n != 1 {
		t.Fatalf("logged %d waits, want 1", n)
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	for err, want := range map[error]bool{
		refused: true,
		fmt.Errorf("connect: %w", &net.DNSError{Err: "no such host", Name: "db", IsNotFound: true}): true,
		io.ErrUnexpectedEOF: true,
		fmt.Errorf("server error: %w", &pgconn.PgError{Code: "57P03"}): true,  // the database system is starting up
		&pgconn.PgError{Code: "53300"}:                                 true,  // too many connections
		&pgconn.PgError{Code: "08006"}:                                 true,  // connection failure
		&pgconn.PgError{Code: "57P01"}:                                 true,  // terminating connection due to administrator command
		&pgconn.PgError{Code: "28P01"}:                                 false, // password authentication failed
		&pgconn.PgError{Code: "28000"}:                                 false, // role does not exist
		&pgconn.PgError{Code: "3D000"}:                                 false, // database does not exist
		&pgconn.PgError{Code: "42501"}:                                 false, // permission denied
		context.Canceled:                                               false,
		fmt.Errorf("x: %w", context.Canceled):                          false,
	} {
		if got := database.Retryable(err); got != want {
			t.Errorf("Retryable(%v) = %v, want %v", err, got, want)
		}
	}
}
