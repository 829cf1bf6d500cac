// Command bench measures the service against the database's own ceiling: for each
// operation of the performance issue it drives a fixed number of concurrent clients against
// the HTTP API, then sends the very statements that endpoint issues straight to PostgreSQL
// through pgx with the same concurrency, and reports throughput, latency percentiles,
// errors, the server's memory and the ratio API ÷ direct SQL as a Markdown table.
//
// By default it builds nothing but starts what it needs: given -bin (the crm binary), it
// seeds the benchmark database when it holds no organization, starts two instances of the
// service on loopback ports (the second without the analytics cache, for the uncached
// reports), runs, and stops them. With -url (and -pid for the memory) it measures a
// service that runs already. `go tool task bench` is the usual entry point.
//
//	bench [-quick] [-concurrency 4,32] [-duration 8s] [-deliveries 50] [-dsn URL] [-bin bin/crm | -url URL -pid N]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// jwtSecret signs the tokens of the instances the benchmark starts, so that a token is
// valid on both.
const jwtSecret = "benchmark-secret-not-for-production-0123456789"

func run(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	dsn := fs.String("dsn", envOr("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench?sslmode=disable"),
		"the benchmark database, as its owner (env BENCH_DATABASE_URL)")
	bin := fs.String("bin", "", "the crm binary: seed the database if empty, start the service from it, stop it at the end")
	fs.StringVar(&cfg.URL, "url", "", "a running service instead of -bin (loopback only)")
	fs.StringVar(&cfg.UncachedURL, "uncached-url", "", "with -url: an instance with ANALYTICS_CACHE_TTL=0 for the uncached reports")
	fs.IntVar(&cfg.PID, "pid", 0, "with -url: the service's process id, for its memory")
	fs.IntVar(&cfg.UncachedPID, "uncached-pid", 0, "with -uncached-url: its process id")
	conc := fs.String("concurrency", "4,32", "concurrent clients, a comma-separated list: every operation runs at each")
	quick := fs.Bool("quick", false, "quick mode: 1 s per run after 250 ms of warm-up, done in under two minutes")
	dur := fs.Duration("duration", 0, "measured time of each side of each operation (default 8s, 1s with -quick)")
	warm := fs.Duration("warmup", 0, "unmeasured time before each run (default 2s, 250ms with -quick)")
	scale := fs.Float64("seed-scale", 0, "the scale to seed an empty database with (default 1, 0.01 with -quick)")
	fs.IntVar(&cfg.DeepPage, "deep-page", cfg.DeepPage, "the page number of the deep page by offset")
	fs.StringVar(&cfg.CursorSecret, "cursor-secret", cfg.CursorSecret, "with -url: the service's JWT_SECRET, which signs the feed cursor the benchmark builds")
	deliveries := fs.Int("deliveries", -1, "writes to time webhook deliveries on (default 50, 10 with -quick; 0: none); the service must run with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true")
	fs.IntVar(&cfg.Rounds, "rounds", 1, "measure each row's API and SQL sides this many times, interleaved, and sum them (for a machine whose disk stalls)")
	only := fs.String("only", "", "run only the operations whose name matches this regular expression")
	out := fs.String("out", "", "write the Markdown report to this file too (default bench/results/latest.md, latest-quick.md with -quick)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.DSN = *dsn
	if *quick {
		cfg = QuickDurations(cfg)
	}
	if *deliveries >= 0 {
		cfg.Deliveries = *deliveries
	}
	if *dur > 0 {
		cfg.Duration = *dur
	}
	if *warm > 0 {
		cfg.Warmup = *warm
	}
	cfg.Concurrency = nil
	for _, c := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 || n > 1024 {
			return fmt.Errorf("-concurrency: %q is not a number of clients", c)
		}
		cfg.Concurrency = append(cfg.Concurrency, n)
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return fmt.Errorf("-only: %w", err)
		}
		cfg.Only = re
	}
	cfg.Log = os.Stderr
	if *out == "" {
		*out = "bench/results/latest.md"
		if cfg.Quick {
			*out = "bench/results/latest-quick.md"
		}
	}

	if cfg.URL == "" {
		if *bin == "" {
			return errors.New("give -bin (start the service) or -url (measure a running one)")
		}
		if *scale == 0 {
			*scale = 1
			if cfg.Quick {
				*scale = 0.01
			}
		}
		if err := seedIfEmpty(ctx, *bin, cfg.DSN, *scale); err != nil {
			return err
		}
		// Both instances work the queue, so both may deliver to the benchmark's receiver on
		// a loopback port.
		private := "WEBHOOK_ALLOW_PRIVATE_NETWORKS=true"
		cached, err := startServer(ctx, *bin, cfg.DSN, []string{private})
		if err != nil {
			return err
		}
		defer cached.stop()
		uncached, err := startServer(ctx, *bin, cfg.DSN, []string{"ANALYTICS_CACHE_TTL=0", "MIGRATE_ON_START=false", private})
		if err != nil {
			return err
		}
		defer uncached.stop()
		cfg.URL, cfg.PID = cached.url, cached.cmd.Process.Pid
		cfg.UncachedURL, cfg.UncachedPID = uncached.url, uncached.cmd.Process.Pid
	}

	rep, err := Run(ctx, cfg)
	if err != nil {
		return err
	}
	md := rep.Markdown()
	fmt.Print(md)
	if err := os.MkdirAll(filepath.Dir(*out), 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil { //nolint:gosec // a report, meant to be read
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: report written to", *out)
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// seedIfEmpty runs `crm seed` when the database does not exist or holds no organization.
func seedIfEmpty(ctx context.Context, bin, dsn string, scale float64) error {
	empty := true
	conn, err := pgx.Connect(ctx, dsn)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		defer conn.Close(ctx)
		var migrated bool
		if err := conn.QueryRow(ctx, "SELECT to_regclass('organizations') IS NOT NULL").Scan(&migrated); err != nil {
			return err
		}
		if migrated {
			if err := conn.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM organizations)").Scan(&empty); err != nil {
				return err
			}
		}
	case errors.As(err, &pgErr) && pgErr.Code == "3D000": // database does not exist: seed creates it
	default:
		return fmt.Errorf("connect %s: %w", dsn, err)
	}
	if !empty {
		return nil
	}
	fmt.Fprintf(os.Stderr, "bench: the database is empty: seeding it at scale %g\n", scale)
	cmd := exec.CommandContext(ctx, bin, "seed", "-scale", strconv.FormatFloat(scale, 'f', -1, 64)) //nolint:gosec // the binary the task built
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn, "LOG_FORMAT=text", "LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

// server is an instance of the service started by the benchmark.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *tail
	done chan struct{}
}

// startServer starts `crm serve` on a free loopback port and waits until it is ready.
func startServer(ctx context.Context, bin, dsn string, env []string) (*server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s := &server{url: "http://" + addr, logs: &tail{max: 16 << 10}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve") //nolint:gosec,noctx // the binary the task built; stopped by stop, not by a context
	s.cmd.Env = append(append(append([]string{"LOG_LEVEL=info"}, os.Environ()...),
		"DATABASE_URL="+dsn, "HTTP_ADDR="+addr, "JWT_SECRET="+jwtSecret, "LOGIN_IP_LIMIT=1000000000", "LOG_FORMAT=json"), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("the service exited during start:\n%s", s.logs)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/ready", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				fmt.Fprintf(os.Stderr, "bench: service pid %d ready on %s %v\n", s.cmd.Process.Pid, s.url, env)
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the service was not ready within 2 minutes:\n%s", s.logs)
		}
	}
}

// stop sends SIGTERM and waits for the process, killing it after 30 s.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// tail keeps the last max bytes written to it: the service's log, shown when it fails.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
