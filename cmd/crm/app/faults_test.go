package app_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/testdb"
)

// The tests of this file run serially (no t.Parallel): they measure deadlines, shutdown
// timing and memory, and kill their database's connections, which tests running alongside
// would disturb.

// sleepRoute adds a route whose query runs for the given seconds, standing in for a slow query.
func sleepRoute(s *apptest.Server) {
	s.App.HTTP.Get("/test/sleep/:secs", func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		if _, err := s.App.DB.Q(ctx).Exec(ctx, "SELECT pg_sleep($1::float)", c.Params("secs")); err != nil {
			return database.MapError(err)
		}
		return c.JSON(fiber.Map{"slept": c.Params("secs")})
	})
}

func TestQueryOutlivingItsDeadlineIs503AndFreesTheConnection(t *testing.T) {
	cfg := apptest.Config()
	cfg.RequestTimeout = 200 * time.Millisecond
	s := apptest.NewWith(t, cfg)
	sleepRoute(s)
	res := s.Do(apptest.Req{Method: "GET", Path: "/test/sleep/5"})
	if res.Status != 503 || res.Code() != "database_unavailable" || res.Header.Get("Retry-After") == "" ||
		strings.Contains(string(res.Body), "pg_sleep") {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	// The connection went back to the pool (or was discarded): nothing stays acquired, and
	// the service keeps answering.
	for i := 0; s.App.DB.Pool.Stat().AcquiredConns() != 0; i++ {
		if i > 100 {
			t.Fatalf("%d connections still acquired", s.App.DB.Pool.Stat().AcquiredConns())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Must(200, apptest.Req{Method: "GET", Path: "/test/sleep/0"})
}

func TestServiceRecoversWhenEveryConnectionIsKilled(t *testing.T) {
	s := apptest.New(t)
	sleepRoute(s)
	u := s.Register("ann")
	dbName := s.App.DB.Pool.Config().ConnConfig.Database

	// Requests in flight when the connections die get a 503 problem, not a hang or a 500.
	var wg sync.WaitGroup
	statuses := make([]int, 3)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = s.Do(apptest.Req{Method: "GET", Path: "/test/sleep/3"}).Status
		}()
	}
	admin, err := testdb.ServerURL()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for i := 0; ; i++ { // wait until the three sleeps run, then kill every backend of the service
		var running int
		_ = conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep%'", dbName).Scan(&running)
		if running == 3 {
			break
		}
		if i > 200 {
			t.Fatalf("sleeps never started (%d running)", running)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := conn.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", dbName); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, st := range statuses {
		if st != 503 {
			t.Fatalf("in-flight statuses %v, want 503 each", statuses)
		}
	}
	// Without a restart the service serves again: the pool replaces dead connections.
	ok := false
	for range 50 {
		if s.Do(apptest.Req{Method: "GET", Path: "/api/v1/users/me", Token: u.Token}).Status == 200 {
			ok = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !ok {
		t.Fatal("service did not recover after its connections were killed")
	}
	s.Must(200, apptest.Req{Method: "GET", Path: "/ready"})
}

func serve(t *testing.T, s *apptest.Server) (addr string, stop context.CancelFunc, done chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan error, 1)
	go func() { done <- s.App.ServeListener(ctx, ln) }()
	return ln.Addr().String(), cancel, done
}

func TestShutdownLetsInFlightRequestsFinishAndRefusesNewOnes(t *testing.T) {
	s := apptest.New(t)
	sleepRoute(s)
	addr, stop, done := serve(t, s)
	type result struct {
		status int
		body   string
		err    error
	}
	slow := make(chan result, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/test/sleep/1") //nolint:noctx
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		slow <- result{status: res.StatusCode, body: string(b)}
	}()
	time.Sleep(200 * time.Millisecond) // let the slow request reach its query
	stop()                             // what SIGTERM does in cmd/crm
	r := <-slow
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, "slept") {
		t.Fatalf("in-flight request: %+v", r)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("new connections are still accepted after shutdown")
	}
}

func TestSlowClientIsCutOffByReadTimeout(t *testing.T) {
	cfg := apptest.Config()
	cfg.ReadTimeout = 300 * time.Millisecond
	s := apptest.NewWith(t, cfg)
	addr, stop, _ := serve(t, s)
	defer stop()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /health HTTP/1.1\r\nHost: x\r\n") // never finishes its headers
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a slow client's connection open")
	}
}

func TestOversizedBodiesDoNotGrowMemory(t *testing.T) {
	s := apptest.New(t)
	addr, stop, _ := serve(t, s)
	defer stop()
	send := func() int {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 2<<20)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	send()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 50 {
		if st := send(); st != 413 {
			t.Fatalf("status %d", st)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// 50 bodies of 2 MiB would be 100 MiB if they were buffered.
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 16<<20 {
		t.Fatalf("heap grew by %d MiB over 50 refused bodies", grew>>20)
	}
}
