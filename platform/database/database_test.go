package database_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

var sources = []migrate.Source{{Module: "things", FS: fstest.MapFS{
	"migrations/20200101000000_things.sql": {Data: []byte(`-- migrate:up
CREATE TABLE things (id bigint PRIMARY KEY, name text NOT NULL UNIQUE);
-- migrate:down
DROP TABLE things;
`)},
}}}

type thing struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

func insert(ctx context.Context, db *database.DB, id int64, name string) error {
	_, err := database.Exec(ctx, db.Q(ctx), database.SQL.Insert("things").Columns("id", "name").Values(id, name))
	return err
}

func count(t *testing.T, db *database.DB) int {
	t.Helper()
	n, err := database.Scalar[int](context.Background(), db.Q(context.Background()), database.SQL.Select("count(*)").From("things"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNestedTransactionsCommitOrRollBackAsOne(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources)
	ctx := context.Background()
	boom := errors.New("boom")
	err := db.WithinTx(ctx, func(ctx context.Context) error {
		if err := insert(ctx, db, 1, "a"); err != nil {
			return err
		}
		// An inner use case joins the outer transaction...
		if err := db.WithinTx(ctx, func(ctx context.Context) error { return insert(ctx, db, 2, "b") }); err != nil {
			return err
		}
		if !database.InTx(ctx) {
			t.Fatal("context lost its transaction")
		}
		return boom // ...so a later failure undoes its write too.
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if n := count(t, db); n != 0 {
		t.Fatalf("%d rows survived a rolled back transaction", n)
	}
	if err := db.WithinTx(ctx, func(ctx context.Context) error {
		if err := insert(ctx, db, 1, "a"); err != nil {
			return err
		}
		return db.WithinTx(ctx, func(ctx context.Context) error { return insert(ctx, db, 2, "b") })
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := database.Select[thing](ctx, db.Q(ctx), database.SQL.Select("id", "name").From("things").OrderBy("id"))
	if err != nil || len(rows) != 2 || rows[1].Name != "b" {
		t.Fatalf("rows %v err %v", rows, err)
	}
}

func TestErrorsAreMapped(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources)
	ctx := context.Background()
	if err := insert(ctx, db, 1, "a"); err != nil {
		t.Fatal(err)
	}
	err := insert(ctx, db, 2, "a")
	if database.PgCode(err) != database.CodeUniqueViolation || database.Constraint(err) != "things_name_key" {
		t.Fatalf("unique violation: code %q constraint %q (%v)", database.PgCode(err), database.Constraint(err), err)
	}
	_, err = database.Get[thing](ctx, db.Q(ctx), database.SQL.Select("id", "name").From("things").Where(sq.Eq{"id": 42}))
	if !database.IsNoRows(err) {
		t.Fatalf("no rows: %v", err)
	}
	// A statement cancelled by its deadline is "unavailable", never an internal error.
	short, cancel := context.WithTimeout(ctx, 50_000_000) // 50 ms
	defer cancel()
	_, err = db.Q(short).Exec(short, "SELECT pg_sleep(2)")
	if mapped := database.MapError(err); !errors.Is(mapped, database.ErrUnavailable) {
		t.Fatalf("timeout mapped to %v (%v)", mapped, err)
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	u, err := database.WithDatabase("postgres://u@h:5432/a?sslmode=disable", "b")
	if err != nil || u != "postgres://u@h:5432/b?sslmode=disable" {
		t.Fatalf("%s %v", u, err)
	}
	if n, _ := database.DatabaseName(u); n != "b" {
		t.Fatalf("name %q", n)
	}
}

func TestAfterCommitRunsOnlyOnceTheOutermostTransactionCommits(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources)
	ctx := context.Background()
	var ran []string
	boom := errors.New("boom")
	err := db.WithinTx(ctx, func(ctx context.Context) error {
		if err := db.WithinTx(ctx, func(ctx context.Context) error {
			database.AfterCommit(ctx, func() { ran = append(ran, "inner") })
			return insert(ctx, db, 1, "a")
		}); err != nil {
			return err
		}
		if len(ran) != 0 {
			t.Errorf("ran %v before the outer transaction committed", ran)
		}
		database.AfterCommit(ctx, func() { ran = append(ran, "outer") })
		return nil
	})
	if err != nil || len(ran) != 2 || ran[0] != "inner" || ran[1] != "outer" {
		t.Fatalf("err %v, ran %v; want inner then outer after the commit", err, ran)
	}

	ran = nil
	err = db.WithinTx(ctx, func(ctx context.Context) error {
		database.AfterCommit(ctx, func() { ran = append(ran, "rolled back") })
		return boom
	})
	if !errors.Is(err, boom) || len(ran) != 0 {
		t.Fatalf("err %v, ran %v; a rolled back transaction must run nothing", err, ran)
	}

	database.AfterCommit(ctx, func() { ran = append(ran, "now") })
	if len(ran) != 1 {
		t.Fatalf("outside a transaction AfterCommit must run at once, ran %v", ran)
	}
}

// A scoped query read to its end gives its connection back even when the caller does not
// call Close, as plain pgx rows do.
func TestScopedRowsReadToTheEndReleaseTheirConnection(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources)
	ctx := database.WithTenant(context.Background(), 1)
	if err := insert(ctx, db, 1, "a"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Q(ctx).Query(ctx, "SELECT name FROM things")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n := db.Pool.Stat().AcquiredConns(); n != 0 {
		t.Fatalf("%d connections still held after the rows were read to the end", n)
	}
}

// positional scans itself by position, counting how often it was asked to.
type positional struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

var positionalScans int

func (p *positional) Columns() []string { return []string{"id", "name"} }

func (p *positional) ScanTargets() []any {
	positionalScans++
	return []any{&p.ID, &p.Name}
}

// A PositionalRow is scanned by position when the statement's columns are its own, and by
// name when they are not (another order, other columns), never into the wrong fields.
func TestPositionalRowsFallBackToNamesForOtherColumns(t *testing.T) {
	db := testdb.New(t, sources)
	ctx := context.Background()
	for i, name := range []string{"a", "b"} {
		if err := insert(ctx, db, int64(i+1), name); err != nil {
			t.Fatal(err)
		}
	}
	got, err := database.Select[positional](ctx, db.Q(ctx), database.SQL.Select("id", "name").From("things").OrderBy("id"))
	if err != nil || len(got) != 2 || got[1] != (positional{2, "b"}) || positionalScans != 2 {
		t.Fatalf("by position: %v %v after %d positional scans", got, err, positionalScans)
	}
	one, err := database.Get[positional](ctx, db.Q(ctx), database.SQL.Select("name", "id").From("things").Where(sq.Eq{"id": 1}))
	if err != nil || one != (positional{1, "a"}) || positionalScans != 2 {
		t.Fatalf("other order: %v %v after %d positional scans", one, err, positionalScans)
	}
	one, err = database.Get[positional](ctx, db.Q(ctx), database.SQL.Select("id", "upper(name) AS name").From("things").Where(sq.Eq{"id": 2}))
	if err != nil || one != (positional{2, "B"}) {
		t.Fatalf("expression under the column's name: %v %v", one, err)
	}
}

// Two transactions that lock two rows in opposite orders deadlock; PostgreSQL aborts one of
// them, and WithinTx runs the victim again, so both commit and the victim's work is there
// once.
func TestADeadlockVictimIsRunAgain(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources)
	ctx := context.Background()
	for i, name := range []string{"a", "b"} {
		if err := insert(ctx, db, int64(i+1), name); err != nil {
			t.Fatal(err)
		}
	}
	var both sync.WaitGroup
	both.Add(2)
	var attempts atomic.Int32
	move := func(first, second int64, suffix string) error {
		var once sync.Once
		return db.WithinTx(ctx, func(ctx context.Context) error {
			attempts.Add(1)
			lock := func(id int64) error {
				_, err := database.Exec(ctx, db.Q(ctx), database.SQL.Update("things").
					Set("name", sq.Expr("name || ?", suffix)).Where(sq.Eq{"id": id}))
				return err
			}
			if err := lock(first); err != nil {
				return err
			}
			once.Do(func() { both.Done(); both.Wait() }) // each holds its first row
			return lock(second)
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- move(1, 2, "x") }()
	go func() { errs <- move(2, 1, "y") }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a transaction failed: %v", err)
		}
	}
	if n := attempts.Load(); n != 3 {
		t.Errorf("%d attempts, want 3 (one victim run again)", n)
	}
	rows, err := database.Select[thing](ctx, db.Q(ctx), database.SQL.Select("id", "name").From("things").OrderBy("id"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r.Name) != 3 || strings.Count(r.Name, "x") != 1 || strings.Count(r.Name, "y") != 1 {
			t.Errorf("thing %d is %q, want each transaction's suffix once", r.ID, r.Name)
		}
	}
}
