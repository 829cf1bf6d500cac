package pipelines_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// A database migrated before pipelines existed gets, on its next migrate, the default
// pipeline for every organization it holds, exactly as a new organization gets it.
func TestTheMigrationGivesExistingOrganizationsTheDefaultPipeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Empty(t)
	before := testdb.Before(t, app.Sources(), "20261201400100")
	if err := migrate.Up(url, before, nil); err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `INSERT INTO organizations (name) VALUES ('A'), ('B'), ('C')`); err != nil {
		t.Fatal(err)
	}
	if err := migrate.Up(url, app.Sources(), nil); err != nil {
		t.Fatal(err)
	}
	// Read as the service does: under the application role, one organization at a time.
	read := func(org int64) string {
		t.Helper()
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if _, err := tx.Exec(ctx, `SET LOCAL ROLE crm_app`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('app.organization_id', $1::bigint::text, true)`, org); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, `SELECT p.name || ' ' || p.position || ' ' || p.is_default || ': ' ||
			string_agg(s.key || '/' || s.name || '/' || s.position || '/' || s.probability || '/' || coalesce(s.rotten_days::text, '-'), ' ' ORDER BY s.position)
			FROM pipelines p JOIN pipeline_stages s ON s.organization_id = p.organization_id AND s.pipeline_id = p.id
			GROUP BY p.id, p.name, p.position, p.is_default ORDER BY p.position`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " | ")
	}
	const want = "Sales 1 true: qualification/Qualification/1/10/- proposal/Proposal/2/30/- negotiation/Negotiation/3/60/- closed/Closed/4/100/-"
	for _, org := range []int64{1, 2, 3} {
		if got := read(org); got != want {
			t.Errorf("organization %d: %s\nwant %s", org, got, want)
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM pipelines`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d pipelines (%v)", n, err)
	}
}
