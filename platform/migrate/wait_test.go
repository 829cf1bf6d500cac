package migrate_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// countWaits counts the warnings about a retry.
type countWaits struct{ n atomic.Int32 }

func (c *countWaits) Enabled(context.Context, slog.Level) bool { return true }
func (c *countWaits) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *countWaits) WithGroup(string) slog.Handler            { return c }
func (c *countWaits) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && strings.Contains(r.Message, "retrying") {
		c.n.Add(1)
	}
	return nil
}

// proxyLater listens on a free loopback port after delay and forwards to target; it returns
// the port's address at once.
func proxyLater(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	var (
		mu    sync.Mutex
		ln    net.Listener
		conns []net.Conn
		wg    sync.WaitGroup
	)
	timer := time.AfterFunc(delay, func() {
		mu.Lock()
		l, err := net.Listen("tcp", addr)
		if err != nil {
			mu.Unlock()
			t.Errorf("proxy: %v", err)
			return
		}
		ln = l
		mu.Unlock()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(s, c); s.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, s); c.Close() }()
		}
	})
	t.Cleanup(func() {
		timer.Stop()
		mu.Lock()
		if ln != nil {
			ln.Close()
		}
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return addr
}

func TestUpWhenReachableWaitsForTheServer(t *testing.T) {
	server, err := testdb.ServerURL()
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "crm_test_wait_" + hex.EncodeToString(b[:])
	direct, err := database.WithDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), server)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = proxyLater(t, u.Host, 1500*time.Millisecond)

	waits := &countWaits{}
	src := []migrate.Source{{Module: "a", FS: fstest.MapFS{
		"migrations/20200101000000_a.sql": {Data: []byte("-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n")},
	}}}
	err = migrate.UpWhenReachable(context.Background(), u.String(), src, nil,
		database.Retry{Timeout: 60 * time.Second, Log: slog.New(waits)})
	if err != nil {
		t.Fatalf("migrations did not wait for the server: %v", err)
	}
	if waits.n.Load() == 0 {
		t.Fatal("no wait was logged although nothing listened at first")
	}
	c, err := pgx.Connect(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var version string
	if err := c.QueryRow(context.Background(), "SELECT version FROM schema_migrations").Scan(&version); err != nil || version != "20200101000000" {
		t.Fatalf("version %q err %v: the database was not created and migrated", version, err)
	}
}

func TestUpWhenReachableGivesUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	start := time.Now()
	err = migrate.UpWhenReachable(context.Background(), "postgres://postgres@"+addr+"/crm?sslmode=disable", nil, nil,
		database.Retry{Timeout: time.Second, Log: slog.New(&countWaits{})})
	if err == nil || !strings.Contains(err.Error(), "not reachable within 1s") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d < time.Second || d > 11*time.Second {
		t.Fatalf("gave up after %s with a timeout of 1s", d)
	}
}
