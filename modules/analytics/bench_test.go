package analytics_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/analytics"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/cache"
	"github.com/mini-crm/crm/platform/config"
	"github.com/mini-crm/crm/platform/kernel"
)

// BenchmarkUncachedReports measures the summary and the funnel, uncached, of an organization
// with ANALYTICS_BENCH_DEALS deals (default 1,000,000) spread over two years, three
// currencies, every status and every (stage, furthest stage) pair; beside them, the full
// recount the read model saves. Run it alone:
//
//	go test -run '^$' -bench UncachedReports -benchtime 200x ./modules/analytics/
func BenchmarkUncachedReports(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("ANALYTICS_BENCH_DEALS")); err == nil && v > 0 {
		n = v
	}
	e := newEnvWith(b, benchConfig())
	o := e.newOrg("bench")
	ctx := context.Background()
	start := time.Now()
	if _, err := e.sql.Exec(ctx, `
		INSERT INTO deals (organization_id, contact_id, owner_id, title, amount, currency, status, stage, max_stage, created_at, updated_at)
		SELECT $1, $2, $3, 'Deal ' || g, round((random() * 100000)::numeric, 2),
		       (ARRAY['USD', 'EUR', 'GBP'])[1 + g % 3], (ARRAY['new', 'in_progress', 'won', 'lost'])[1 + (g / 3) % 4],
		       (ARRAY['qualification', 'proposal', 'negotiation', 'closed'])[s], s + (g / 12) % (5 - s),
		       t, t
		FROM (SELECT g, 1 + (g / 7) % 4 AS s, now() - (g % 730) * interval '1 day' - (g % 86400) * interval '1 second' AS t
		      FROM generate_series(1, $4::int) g) x`,
		o.id, o.contact, o.user.ID, n); err != nil {
		b.Fatal(err)
	}
	e.backfill(b)
	if _, err := e.sql.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d deals inserted and backfilled in %s", n, time.Since(start).Round(time.Millisecond))

	deals, err := kernel.Resolve[dealsapi.Deals](e.App.Kernel)
	if err != nil {
		b.Fatal(err)
	}
	svc := analytics.NewReader(e.App.DB, deals, cache.New(0), time.Now)
	actx := apptest.Acting(ctx, auth.Principal{UserID: o.user.ID, OrgID: o.id, Role: auth.RoleMember})
	b.Run("summary", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Summary(actx, 30, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("summary-365-days", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Summary(actx, 365, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("funnel", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Funnel(actx, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full-recount-for-comparison", func(b *testing.B) {
		for b.Loop() {
			rows, err := e.sql.Query(ctx, `SELECT status, stage, max_stage, currency, count(*), sum(amount)
				FROM deals WHERE organization_id = $1 GROUP BY 1, 2, 3, 4`, o.id)
			if err != nil {
				b.Fatal(err)
			}
			rows.Close()
		}
	})
}

func benchConfig() config.Config {
	c := apptest.Config()
	c.AnalyticsCacheTTL = 0
	return c
}
