package analytics_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/analytics"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/cache"
	"github.com/mini-crm/crm/platform/kernel"
)

const migrationFile = "migrations/20261201100300_analytics_backfill.sql"

// backfill runs the backfill migration of analytics on emptied read-model tables, as
// the application role: no superuser, subject to row-level security on the deals table,
// as a migrating role that is not a superuser would be where deals force it.
func (e env) backfill(t testing.TB) {
	t.Helper()
	b, err := fs.ReadFile(analytics.Migrations(), migrationFile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "DO $$")
	end := strings.Index(s[start:], "END\n$$;")
	if start < 0 || end < 0 {
		t.Fatal("no backfill block in the migration")
	}
	ctx := context.Background()
	for _, stmt := range []string{
		"DELETE FROM analytics_deal_totals", "DELETE FROM analytics_deals_created",
		"SET ROLE crm_app", s[start : start+end+len("END\n$$;")], "RESET ROLE",
	} {
		if _, err := e.sql.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// The migration's backfill rebuilds the read model from existing deals, and the window of
// new deals is exact: created_at ≥ now − N×24 h, to the microsecond, on both sides of the
// first day's split between the daily counts and the deals' own timestamps.
func TestBackfillAndTheWindowOfNewDeals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team := e.NewTeam()
	a := seedTeam(e, team)
	b := seedOther(e, team.Outsider)

	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	us := time.Microsecond
	day := 24 * time.Hour
	ages := []time.Duration{ // how long before now each deal of a was created
		time.Hour,
		10 * time.Hour,    // 00:00 today
		10*time.Hour + us, // 23:59:59.999999 yesterday
		day,               // exactly 1 day: within days=1
		day + us,          // just outside days=1
		29*day + 23*time.Hour,
		30*day - us,
		30 * day, // exactly 30 days: within days=30
		30*day + us,
		364 * day,
		365 * day,
		365*day + time.Second,
		400 * day,
	}
	ctx := context.Background()
	rows, err := e.sql.Query(ctx, "SELECT id FROM deals WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY id", a.id)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 8 {
		t.Fatalf("%d deals", len(ids))
	}
	// Eight deals from the data set and five more, spread over the ages above.
	for len(ids) < len(ages) {
		ids = append(ids, a.deal(nil))
	}
	for i, id := range ids {
		if _, err := e.sql.Exec(ctx, "UPDATE deals SET created_at = $1 WHERE id = $2", now.Add(-ages[i]), id); err != nil {
			t.Fatal(err)
		}
	}
	e.backfill(t)
	e.checkTables(t, a)
	e.checkTables(t, b)

	deals, err := kernel.Resolve[dealsapi.Deals](e.App.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	svc := analytics.NewReader(e.App.DB, deals, cache.New(0), func() time.Time { return clock })
	actx := apptest.Acting(ctx, auth.Principal{UserID: team.Owner.ID, OrgID: a.id, Role: auth.RoleOwner})
	newDeals := func(days int) int64 {
		t.Helper()
		s, err := svc.Summary(actx, days, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Days != days {
			t.Fatalf("days %d", s.Days)
		}
		return s.New
	}
	for days, want := range map[int]int64{1: 4, 2: 5, 29: 5, 30: 8, 31: 9, 364: 10, 365: 11} {
		if got := newDeals(days); got != want {
			t.Errorf("days=%d: %d new deals, want %d", days, got, want)
		}
	}
	// Every window, at several times of day, against a count of the deals themselves.
	for _, c := range []time.Time{now, now.Add(-10 * time.Hour), now.Add(13*time.Hour + 59*time.Minute), now.Add(37 * time.Minute)} {
		clock = c
		for days := 1; days <= 365; days++ {
			var want int64
			if err := e.sql.QueryRow(ctx, "SELECT count(*) FROM deals WHERE organization_id = $1 AND deleted_at IS NULL AND created_at >= $2",
				a.id, c.Add(-time.Duration(days)*day)).Scan(&want); err != nil {
				t.Fatal(err)
			}
			if got := newDeals(days); got != want {
				t.Fatalf("now %s, days=%d: %d new deals, want %d", c, days, got, want)
			}
		}
	}

	// The reports of both organizations are right after the backfill.
	sameJSON(t, a.report(funnelPath).Body, e.recountFunnel(t, a.id))
	sameJSON(t, b.report(funnelPath).Body, otherFunnel)
	sameJSON(t, b.report(summaryPath).Body, otherSummary)
}

// checkTables compares the organization's read-model tables with a recount of its deals.
func (e env) checkTables(t *testing.T, o org) { checkTables(t, e.sql, o.id) }

func checkTables(t *testing.T, conn *pgx.Conn, orgID int64) {
	t.Helper()
	ctx := context.Background()
	query := func(sql string) string {
		t.Helper()
		var s string
		if err := conn.QueryRow(ctx, "SELECT coalesce(string_agg(r::text, ';' ORDER BY r::text), '') FROM ("+sql+") r", orgID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	pairs := [][2]string{
		{`SELECT pipeline_id, status, stage, max_stage, currency, deals, amount::text FROM analytics_deal_totals WHERE organization_id = $1 AND deals <> 0`,
			`SELECT pipeline_id, status, stage, max_stage, currency, count(*), sum(amount)::text FROM deals WHERE organization_id = $1 AND deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5`},
		{`SELECT day, deals FROM analytics_deals_created WHERE organization_id = $1 AND deals <> 0`,
			`SELECT (created_at AT TIME ZONE 'UTC')::date, count(*) FROM deals WHERE organization_id = $1 AND deleted_at IS NULL GROUP BY 1`},
	}
	for _, p := range pairs {
		got, want := query(p[0]), query(p[1])
		if got != want || want == "" {
			t.Fatalf("org %d:\nread model %s\nrecount    %s", orgID, got, want)
		}
	}
}
