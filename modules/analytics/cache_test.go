package analytics_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/platform/config"
)

// tamper changes an organization's read model behind the application's back, so that a
// report served from the cache can be told from a computed one: a computed report counts
// 100 more new deals per row (per key: the first of its slots).
func (e env) tamper(orgID int64) {
	e.T.Helper()
	if _, err := e.sql.Exec(context.Background(), `UPDATE analytics_deal_totals t SET deals = deals + 100
		WHERE organization_id = $1 AND slot = (SELECT min(slot) FROM analytics_deal_totals u
			WHERE (u.organization_id, u.pipeline_id, u.status, u.stage, u.max_stage, u.currency)
			    = (t.organization_id, t.pipeline_id, t.status, t.stage, t.max_stage, t.currency))`, orgID); err != nil {
		e.T.Fatal(err)
	}
}

func newCount(t *testing.T, res apptest.Response) float64 {
	t.Helper()
	return res.JSON()["by_status"].(map[string]any)["new"].(map[string]any)["count"].(float64)
}

func qualificationCount(t *testing.T, res apptest.Response) float64 {
	t.Helper()
	return res.JSON()["stages"].([]any)[0].(map[string]any)["count"].(float64)
}

func TestReportsAreCachedPerOrganizationAndDroppedByItsWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // ANALYTICS_CACHE_TTL 30s
	a, b := e.newOrg("a"), e.newOrg("b")
	a.deal(nil)
	b.deal(nil)
	for _, o := range []org{a, b} {
		for _, path := range []string{summaryPath, funnelPath, summaryPath + "?days=7"} {
			if cc := o.report(path).Header.Get("Cache-Control"); cc != "private, max-age=30" {
				t.Fatalf("Cache-Control %q", cc)
			}
		}
	}
	e.tamper(a.id)
	e.tamper(b.id)

	// Hits: both organizations' reports are served from the cache.
	for _, o := range []org{a, b} {
		if n := newCount(t, o.report(summaryPath)); n != 1 {
			t.Fatalf("org %d: summary counts %v new deals, want the cached 1", o.id, n)
		}
		if n := newCount(t, o.report(summaryPath+"?days=7")); n != 1 {
			t.Fatalf("org %d: summary of 7 days counts %v, want the cached 1", o.id, n)
		}
		if n := qualificationCount(t, o.report(funnelPath)); n != 1 {
			t.Fatalf("org %d: funnel counts %v, want the cached 1", o.id, n)
		}
	}
	// A window not asked for before is computed.
	if n := newCount(t, a.report(summaryPath+"?days=8")); n != 101 {
		t.Fatalf("uncached window counts %v, want 101", n)
	}

	// A deal write of a drops every report of a at once (the writer reads its own write,
	// computed from the read model, here with the tampering), and none of b.
	a.deal(nil)
	if n := newCount(t, a.report(summaryPath)); n != 102 {
		t.Fatalf("after a write: %v new deals, want 102", n)
	}
	if n := newCount(t, a.report(summaryPath+"?days=7")); n != 102 {
		t.Fatalf("after a write, 7 days: %v new deals, want 102", n)
	}
	if n := qualificationCount(t, a.report(funnelPath)); n != 102 {
		t.Fatalf("after a write, funnel: %v, want 102", n)
	}
	if n := newCount(t, b.report(summaryPath)); n != 1 {
		t.Fatalf("b after a's write: %v, want its cached 1", n)
	}
	if n := qualificationCount(t, b.report(funnelPath)); n != 1 {
		t.Fatalf("b's funnel after a's write: %v, want its cached 1", n)
	}

	// Updates and deletes drop the cache too.
	d := b.deal(nil) // b: 1 + 100 tampered + 1
	if n := newCount(t, b.report(summaryPath)); n != 102 {
		t.Fatalf("b after its write: %v, want 102", n)
	}
	b.patch(d, map[string]any{"status": "in_progress"})
	if n := newCount(t, b.report(summaryPath)); n != 101 {
		t.Fatalf("b after its update: %v, want 101", n)
	}
	b.patch(d, map[string]any{"status": "new"})
	if n := newCount(t, b.report(summaryPath)); n != 102 {
		t.Fatalf("b after its second update: %v, want 102", n)
	}
	b.remove(d)
	if n := newCount(t, b.report(summaryPath)); n != 101 {
		t.Fatalf("b after its delete: %v, want 101", n)
	}
}

// newEnvWithClock is newEnvWith on a service whose cache reads the time from clock.
func newEnvWithClock(t *testing.T, cfg config.Config, clock *apptest.Clock) env {
	t.Helper()
	s := apptest.NewWithClock(t, cfg, clock)
	conn, err := pgx.Connect(context.Background(), s.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return env{Server: s, sql: conn}
}

func TestCachedReportsExpire(t *testing.T) {
	t.Parallel()
	clock := apptest.NewClock(time.Now())
	e := newEnvWithClock(t, apptest.Config(), clock) // ANALYTICS_CACHE_TTL 30s
	o := e.newOrg("expiry")
	o.deal(nil)
	o.report(summaryPath)
	o.report(funnelPath)
	e.tamper(o.id)
	clock.Advance(30*time.Second - time.Nanosecond)
	if n := newCount(t, o.report(summaryPath)); n != 1 {
		t.Fatalf("within the TTL: %v new deals, want the cached 1", n)
	}
	if n := qualificationCount(t, o.report(funnelPath)); n != 1 {
		t.Fatalf("within the TTL: funnel %v, want the cached 1", n)
	}
	clock.Advance(time.Nanosecond)
	if n := newCount(t, o.report(summaryPath)); n != 101 {
		t.Fatalf("after the TTL: %v new deals, want the recomputed 101", n)
	}
	if n := qualificationCount(t, o.report(funnelPath)); n != 101 {
		t.Fatalf("after the TTL: funnel %v, want the recomputed 101", n)
	}
}

func TestWithTTL0NothingIsCached(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config()
	cfg.AnalyticsCacheTTL = 0
	e := newEnvWith(t, cfg)
	o := e.newOrg("nocache")
	o.deal(nil)
	for _, path := range []string{summaryPath, funnelPath} {
		if cc := o.report(path).Header.Get("Cache-Control"); cc != "private, max-age=0" {
			t.Fatalf("Cache-Control %q", cc)
		}
	}
	e.tamper(o.id)
	if n := newCount(t, o.report(summaryPath)); n != 101 {
		t.Fatalf("summary %v, want 101", n)
	}
	if n := qualificationCount(t, o.report(funnelPath)); n != 101 {
		t.Fatalf("funnel %v, want 101", n)
	}
}
