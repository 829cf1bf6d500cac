package deals_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// The migration that adds the velocity read model fills it from the stage history there is
// (finished visits only, per pipeline, UTC day, stage and bucket, in two organizations),
// and from then on the history's triggers keep it in step; the months, added later, are
// filled from the days and kept by the same triggers.
func TestTheMigrationFillsTheVelocityReadModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Empty(t)
	if err := migrate.Up(url, testdb.Before(t, app.Sources(), "20261203400100"), nil); err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	exec := func(stmt string) {
		t.Helper()
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	exec(`INSERT INTO users (email, password_hash, name) VALUES ('a@example.com', 'x', 'A')`)
	for org := 1; org <= 2; org++ {
		for _, stmt := range []string{
			`INSERT INTO organizations (name) VALUES ('O%[1]d')`,
			`SELECT pipelines_create_default(%[1]d)`,
			`INSERT INTO organization_members (organization_id, user_id, role) VALUES (%[1]d, 1, 'owner')`,
			`INSERT INTO contacts (organization_id, owner_id, name) VALUES (%[1]d, 1, 'C')`,
			// An open deal, and a won one (its first visit ended at closed_at).
			`INSERT INTO deals (organization_id, contact_id, owner_id, title, amount, currency, status, stage, max_stage, pipeline_id,
			     created_at, updated_at, closed_at, stage_entered_at)
			 SELECT %[1]d, c.id, 1, t, 1, 'USD', s, 'qualification', 1, pipelines_default_id(%[1]d), '2026-01-01T00:00:00Z', '2026-01-03T00:00:00Z', cl, '2026-01-01T00:00:00Z'
			 FROM contacts c, (VALUES ('Open', 'new', NULL::timestamptz), ('Won', 'won', '2026-01-02T12:00:00.000001Z')) v (t, s, cl)
			 WHERE c.organization_id = %[1]d`,
			// Past visits of both deals, in the default pipeline and another one: the same day
			// and bucket twice, another bucket, another day, and an open visit elsewhere.
			`INSERT INTO deal_stage_history (organization_id, deal_id, pipeline_id, stage, entered_at, left_at)
			 SELECT %[1]d, d.id, p, s, en::timestamptz, le::timestamptz FROM deals d, (VALUES
			     (pipelines_default_id(%[1]d), 'proposal', '2025-12-01T00:00:00Z', '2025-12-02T00:00:00.5Z'),
			     (pipelines_default_id(%[1]d), 'proposal', '2025-12-01T10:00:00Z', '2025-12-02T10:00:00Z'),
			     (pipelines_default_id(%[1]d), 'proposal', '2025-12-01T23:00:00Z', '2025-12-02T23:59:59.999999Z'),
			     (pipelines_default_id(%[1]d), 'negotiation', '2025-11-01T00:00:00Z', '2025-12-03T00:00:00Z'),
			     (pipelines_default_id(%[1]d) + 100, 'closed', '2025-10-01T00:00:00Z', '2025-10-01T00:00:00Z')) v (p, s, en, le)
			 WHERE d.organization_id = %[1]d`,
		} {
			exec(fmt.Sprintf(stmt, org))
		}
	}
	if err := migrate.Up(url, app.Sources(), nil); err != nil {
		t.Fatal(err)
	}
	recount := func() {
		t.Helper()
		rows := func(sql string) string {
			t.Helper()
			rs, err := db.Query(ctx, sql)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			var out []string
			for rs.Next() {
				vals, err := rs.Values()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprint(vals...))
			}
			if err := rs.Err(); err != nil {
				t.Fatal(err)
			}
			return strings.Join(out, "\n")
		}
		got := rows(`SELECT organization_id, pipeline_id, day::text, stage, bucket, sum(visits)::bigint, sum(total_s)::text
			FROM deal_visit_days GROUP BY 1, 2, 3, 4, 5 HAVING sum(visits) <> 0 ORDER BY 1, 2, 3, 4, 5`)
		want := rows(`SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date::text, stage, deals_visit_bucket(entered_at, left_at),
				count(*), sum(extract(epoch FROM left_at - entered_at))::text
			FROM deal_stage_history WHERE left_at IS NOT NULL AND NOT trashed GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`)
		if got != want {
			t.Fatalf("read model:\n%s\nhistory:\n%s", got, want)
		}
		// The months (migration 20261203700100, filled from the days) hold the same per month.
		got = rows(`SELECT organization_id, pipeline_id, month::text, stage, bucket, sum(visits)::bigint, sum(total_s)::text
			FROM deal_visit_months GROUP BY 1, 2, 3, 4, 5 HAVING sum(visits) <> 0 ORDER BY 1, 2, 3, 4, 5`)
		want = rows(`SELECT organization_id, pipeline_id, to_char(left_at AT TIME ZONE 'UTC', 'YYYY-MM-01'), stage, deals_visit_bucket(entered_at, left_at),
				count(*), sum(extract(epoch FROM left_at - entered_at))::text
			FROM deal_stage_history WHERE left_at IS NOT NULL AND NOT trashed GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`)
		if got != want {
			t.Fatalf("monthly read model:\n%s\nhistory:\n%s", got, want)
		}
	}
	recount()
	// What the migration filled for organization 1: the three proposal visits of each deal
	// share a day and a bucket; then the negotiation visits, the closed ones of the other
	// pipeline and the won deal's first visit.
	var got string
	if err := db.QueryRow(ctx, `SELECT string_agg(format('%s %s %s', stage, day, visits), '; ' ORDER BY day, stage)
		FROM deal_visit_days WHERE organization_id = 1`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "closed 2025-10-01 2; proposal 2025-12-02 6; negotiation 2025-12-03 2; qualification 2026-01-02 1"; got != want {
		t.Errorf("read model of organization 1: %q, want %q", got, want)
	}
	// The triggers go on from there: a visit ends, another deal is deleted for good.
	exec(`UPDATE deal_stage_history SET left_at = entered_at + interval '1 hour' WHERE organization_id = 1 AND left_at IS NULL`)
	exec(`DELETE FROM deals WHERE organization_id = 2 AND title = 'Won'`)
	recount()
}
