package pipelines_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	pathpkg "path"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// A database migrated before pipelines existed gets, on its next migrate, the default
// pipeline for every organization it holds, exactly as a new organization gets it.
func TestTheMigrationGivesExistingOrganizationsTheDefaultPipeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, err := testdb.ServerURL()
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "crm_test_pl_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	url, err := database.WithDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	// The database as it was before pipelines: every migration older than the first of
	// pipelines (later migrations of other modules build on pipelines).
	var before []migrate.Source
	for _, s := range app.Sources() {
		if older := olderThan(t, s.FS, "20261201400100"); len(older) > 0 {
			before = append(before, migrate.Source{Module: s.Module, FS: older})
		}
	}
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

// olderThan is the migrations of src whose names sort before version.
func olderThan(t *testing.T, src fs.FS, version string) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	names, err := fs.Glob(src, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if pathpkg.Base(n) >= version {
			continue
		}
		b, err := fs.ReadFile(src, n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = &fstest.MapFile{Data: b}
	}
	return out
}
