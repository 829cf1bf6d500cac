package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/cmd/crm/seed"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/testdb"
)

// The benchmark is not part of the test run, but its quick mode must keep working: this
// runs it, shortened, on a tiny seeded database against two instances of the service in
// this process (with and without the analytics cache), and checks that every operation
// was measured on both sides without an error.
func TestQuickModeOnATinyDatabase(t *testing.T) {
	ctx := context.Background()
	url := testdb.URL(t, app.Sources())
	cheap := &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	if _, err := seed.Run(ctx, url, seed.Options{Seed: 1, Scale: 0.0005, HashParams: cheap}); err != nil {
		t.Fatal(err)
	}
	cached := serve(t, url, 30*time.Second)
	uncached := serve(t, url, 0)

	cfg := QuickDurations(DefaultConfig())
	cfg.URL, cfg.UncachedURL, cfg.DSN = cached, uncached, url
	cfg.PID, cfg.UncachedPID = os.Getpid(), os.Getpid()
	cfg.Concurrency = []int{2}
	cfg.Duration, cfg.Warmup, cfg.SettleWait = 150*time.Millisecond, 20*time.Millisecond, 0
	cfg.CursorSecret, cfg.Deliveries = apptest.Secret, 3
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]bool{} // operation → has a direct-SQL side
	for _, o := range (&harness{cursor: "x", after: []string{"a", "b"}, feedCursor: "x"}).ops() {
		want[o.name] = o.sql != nil
	}
	for _, r := range rep.Results {
		hasSQL, ok := want[r.Op]
		if !ok {
			t.Errorf("unexpected operation %q", r.Op)
			continue
		}
		delete(want, r.Op)
		if r.API.Requests == 0 || r.API.Errors > 0 {
			t.Errorf("%s: API %d requests, %d errors (%s)", r.Op, r.API.Requests, r.API.Errors, r.API.FirstError)
		}
		if hasSQL != (r.SQL != nil) {
			t.Errorf("%s: direct-SQL side %v, want %v", r.Op, r.SQL != nil, hasSQL)
		} else if r.SQL != nil && (r.SQL.Requests == 0 || r.SQL.Errors > 0) {
			t.Errorf("%s: SQL %d requests, %d errors (%s)", r.Op, r.SQL.Requests, r.SQL.Errors, r.SQL.FirstError)
		}
		if r.RSSPeakKB == 0 {
			t.Errorf("%s: no memory sample", r.Op)
		}
	}
	for op := range want {
		t.Errorf("%s was not measured", op)
	}
	// The feed's page is a range scan of its index, and deliveries arrive.
	if !strings.Contains(rep.FeedPlan, "Index Scan using events_feed on events") {
		t.Errorf("the feed page is not an index scan of events_feed:\n%s", rep.FeedPlan)
	}
	if d := rep.Delivery; d == nil || d.Writes != 3 || d.Delivered != 3 || d.P50 <= 0 {
		t.Errorf("delivery latency: %+v", d)
	}
	md := rep.Markdown()
	for _, s := range []string{"### Concurrency 2", "| list deals, deep page by cursor |", "| " + feedPageOp + " |",
		"### Webhook delivery latency", "### Plan of the events feed page", "API ÷ SQL", "### Goals"} {
		if !strings.Contains(md, s) {
			t.Errorf("the report lacks %q:\n%s", s, md)
		}
	}
	if testing.Verbose() {
		t.Log("\n" + md)
	}

	// In rounds, a row sums its interleaved runs and keeps each round's ratio.
	cfg.Rounds, cfg.Deliveries, cfg.Only = 2, 0, regexp.MustCompile(`^PATCH deal stage`)
	rep, err = Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 {
		t.Fatalf("%d rows in rounds, want 1", len(rep.Results))
	}
	r := rep.Results[0]
	if len(r.RoundRatios) != 2 || r.RoundRatios[0] <= 0 || r.RoundRatios[1] <= 0 || r.SQL == nil ||
		r.API.Requests != len(r.API.lat) || r.SQL.Requests != len(r.SQL.lat) || r.API.Errors+r.SQL.Errors > 0 {
		t.Errorf("rounds: %+v", r)
	}
	if md := rep.Markdown(); !strings.Contains(md, "### API ÷ SQL of each round") || !strings.Contains(md, "measured in 2 rounds") {
		t.Errorf("the report in rounds lacks them:\n%s", md)
	}
}

// serve runs the service on a loopback port of this process until the test ends.
func serve(t *testing.T, url string, cacheTTL time.Duration) string {
	t.Helper()
	db, err := database.Open(context.Background(), url, database.Options{MaxConns: 4, Role: database.AppRole, StatementTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return serveOn(t, db, cacheTTL)
}

// serveOn runs the service on db on a loopback port of this process until the test ends.
func serveOn(t *testing.T, db *database.DB, cacheTTL time.Duration) string {
	t.Helper()
	cfg := apptest.Config()
	cfg.AnalyticsCacheTTL, cfg.LoginIPLimit = cacheTTL, 1_000_000_000
	cfg.WebhookAllowPrivate = true // the delivery latency's receiver is on a loopback port
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), db, app.Options{HashParams: apptest.FastHash})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
