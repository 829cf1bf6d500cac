package database_test

import (
	"context"
	"testing"
	"testing/fstest"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

var tenantSources = []migrate.Source{
	{Module: "database", FS: database.Migrations()},
	{Module: "notes", FS: fstest.MapFS{"migrations/20300101000000_notes.sql": {Data: []byte(`-- migrate:up
CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, organization_id bigint NOT NULL, body text NOT NULL);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notes USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());
-- migrate:down
DROP TABLE notes;
`)}}},
}

func seedNotes(t *testing.T, db *database.DB) {
	t.Helper()
	for org := int64(1); org <= 2; org++ {
		ctx := database.WithTenant(context.Background(), org)
		for i := 0; i < 3; i++ {
			if _, err := db.Q(ctx).Exec(ctx, "INSERT INTO notes (organization_id, body) VALUES ($1, 'n')", org); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// oneConnectionWithNotes is a pool of one connection as the application role over a
// database holding seedNotes' notes: every statement of a test runs on that connection.
func oneConnectionWithNotes(t *testing.T) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), testdb.URL(t, tenantSources), database.Options{MaxConns: 1, Role: database.AppRole})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	seedNotes(t, db)
	return db
}

func orgsSeen(t *testing.T, db *database.DB, ctx context.Context) map[int64]int {
	t.Helper()
	// Deliberately no WHERE: the policy alone must confine the query.
	rows, err := db.Q(ctx).Query(ctx, "SELECT organization_id FROM notes")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[int64]int{}
	for rows.Next() {
		var org int64
		if err := rows.Scan(&org); err != nil {
			t.Fatal(err)
		}
		seen[org]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return seen
}

func TestQueriesWithoutWhereSeeOnlyTheirTenant(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, tenantSources)
	seedNotes(t, db)
	for org := int64(1); org <= 2; org++ {
		seen := orgsSeen(t, db, database.WithTenant(context.Background(), org))
		if len(seen) != 1 || seen[org] != 3 {
			t.Fatalf("tenant %d sees %v", org, seen)
		}
	}
	if seen := orgsSeen(t, db, context.Background()); len(seen) != 0 {
		t.Fatalf("a query without a tenant sees %v, want nothing", seen)
	}
	// Writing another organization's row is refused by the policy, in and out of transactions.
	ctx := database.WithTenant(context.Background(), 1)
	if _, err := db.Q(ctx).Exec(ctx, "INSERT INTO notes (organization_id, body) VALUES (2, 'x')"); err == nil {
		t.Fatal("inserted a row of another organization")
	}
	err := db.WithinTx(ctx, func(ctx context.Context) error {
		_, err := db.Q(ctx).Exec(ctx, "UPDATE notes SET organization_id = 2")
		return err
	})
	if err == nil {
		t.Fatal("moved rows to another organization")
	}
	n, err := database.Scalar[int](ctx, db.Q(ctx), database.SQL.Select("count(*)").From("notes"))
	if err != nil || n != 3 {
		t.Fatalf("count %d err %v", n, err)
	}
}

// One connection serving the tenants in turn: a transaction-local setting can never leak
// from one statement (or transaction) into the next.
func TestOneConnectionAlternatingTenantsNeverMixes(t *testing.T) {
	t.Parallel()
	db := oneConnectionWithNotes(t)
	for i := 0; i < 20; i++ {
		org := int64(i%2 + 1)
		ctx := database.WithTenant(context.Background(), org)
		var seen map[int64]int
		if i%4 < 2 {
			seen = orgsSeen(t, db, ctx)
		} else {
			_ = db.WithinTx(ctx, func(ctx context.Context) error { seen = orgsSeen(t, db, ctx); return nil })
		}
		if len(seen) != 1 || seen[org] != 3 {
			t.Fatalf("round %d: tenant %d sees %v", i, org, seen)
		}
		if leak := orgsSeen(t, db, context.Background()); len(leak) != 0 {
			t.Fatalf("round %d: unscoped query after tenant %d sees %v", i, org, leak)
		}
	}
}

func TestPoolRunsAsTheApplicationRole(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, tenantSources)
	ctx := context.Background()
	var user string
	var super, bypass bool
	if err := db.Pool.QueryRow(ctx, `SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user`).
		Scan(&user, &super, &bypass); err != nil {
		t.Fatal(err)
	}
	if user != database.AppRole || super || bypass {
		t.Fatalf("queries run as %s (superuser %v, bypassrls %v)", user, super, bypass)
	}
}

// A statement run with PlanForValues is planned for its values every time, in its own
// round trip and in a transaction begun with it; the same statement without it settles on
// PostgreSQL's generic plan after five runs, and the setting never outlives the statement
// or transaction that carried it (one connection serves all of them here).
func TestPlanForValuesPlansEveryRunForItsValues(t *testing.T) {
	t.Parallel()
	db := oneConnectionWithNotes(t)
	tenant := database.WithTenant(context.Background(), 1)
	perValues := database.PlanForValues(tenant)
	const (
		inRoundTrip = "SELECT count(*) FROM notes WHERE organization_id = $1 AND body LIKE $2"
		inTx        = "SELECT count(*) FROM notes WHERE organization_id = $1 AND body LIKE $2 AND id > 0"
		generic     = "SELECT count(*) FROM notes WHERE organization_id = $1 AND body LIKE $2 AND id > 1"
	)
	run := func(ctx context.Context, sql string) {
		t.Helper()
		if n, err := database.Scalar[int](ctx, db.Q(ctx), sq.Expr(sql, 1, "n%")); err != nil || n == 0 {
			t.Fatalf("%s: %d, %v", sql, n, err)
		}
	}
	mode := func(ctx context.Context) string {
		t.Helper()
		m, err := database.Scalar[string](ctx, db.Q(ctx), sq.Expr("SELECT current_setting('plan_cache_mode')"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for range 8 {
		run(perValues, inRoundTrip)
		run(tenant, generic)
		if err := db.WithinTx(perValues, func(ctx context.Context) error { run(ctx, inTx); return nil }); err != nil {
			t.Fatal(err)
		}
		if m := mode(tenant); m != "auto" {
			t.Fatalf("plan_cache_mode %q after a statement planned for its values", m)
		}
	}
	if m := mode(perValues); m != "force_custom_plan" {
		t.Fatalf("plan_cache_mode %q under PlanForValues", m)
	}
	// pg_prepared_statements is the connection's own, and the pool has one connection.
	for sql, wantGeneric := range map[string]bool{inRoundTrip: false, inTx: false, generic: true} {
		var custom, generics int64
		if err := db.Pool.QueryRow(context.Background(), "SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE statement = $1", sql).
			Scan(&custom, &generics); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if wantGeneric && generics == 0 || !wantGeneric && (generics != 0 || custom != 8) {
			t.Errorf("%s: %d custom and %d generic plans in 8 runs", sql, custom, generics)
		}
	}
}
