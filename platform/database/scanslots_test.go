package database_test

import (
	"context"
	"errors"
	"testing"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/testdb"
)

type note struct {
	ID   int64  `db:"id"`
	Body string `db:"body"`
}

func noteKey(n note) []string { return []string{database.IDKey(n.ID)} }

var notesByID = database.Order{Key: "notes:id:asc", Cols: []database.KeyCol{{Expr: "id", Type: "bigint"}}}

// listNotes lists organization 1's notes a note a page, counting them with count (nil: the
// window does not count).
func listNotes(ctx context.Context, db *database.DB, count *sq.SelectBuilder) (database.Result[note], error) {
	ctx = database.WithTenant(ctx, 1)
	w := database.Window{Limit: 1}
	c := database.SQL.Select("count(*)").From("notes")
	if count != nil {
		w.Count, c = true, *count
	}
	return database.Paginate(ctx, db.Q(ctx), database.SQL.Select("id", "body").From("notes"), c, notesByID, w, noteKey)
}

// scanMetric is the value of one of the pool collector's metrics of db.
func scanMetric(t *testing.T, db *database.DB, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(database.NewPoolCollector(db))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			m := f.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// With one scan slot, a counted list whose count is running keeps the next counted list
// waiting: a request that ends within ScanSlotWait gives up without running, one that lasts
// longer runs without a slot once that wait is over (a long count does not hold up the
// others). Lists that do not count and writes never wait; once the count ends, the next
// one takes the slot at once.
func TestCountedListsTakeTurnsInTheScanSlots(t *testing.T) {
	db, err := database.Open(context.Background(), testdb.URL(t, tenantSources), database.Options{MaxConns: 4, ScanSlots: 1, Role: database.AppRole})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	seedNotes(t, db)
	ctx := context.Background()

	// The first count waits inside PostgreSQL, holding the slot, for a lock the test holds.
	holder, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock(4242)"); err != nil {
		t.Fatal(err)
	}
	blocked := database.SQL.Select("count(*)").From("notes, LATERAL pg_advisory_xact_lock_shared(4242) AS wait")
	first := make(chan error, 1)
	var firstRes database.Result[note]
	go func() {
		var err error
		firstRes, err = listNotes(ctx, db, &blocked)
		first <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting bool
		if err := holder.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)").Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first count never reached its lock")
		}
		time.Sleep(10 * time.Millisecond)
	}

	plain := database.SQL.Select("count(*)").From("notes")
	short, cancel := context.WithTimeout(ctx, database.ScanSlotWait/4)
	_, err = listNotes(short, db, &plain)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second counted list while the slot is taken: err = %v, want its request's deadline", err)
	}
	start := time.Now()
	if res, err := listNotes(ctx, db, &plain); err != nil || res.Total == nil || *res.Total != 3 {
		t.Fatalf("a counted list with time to wait, while the slot is taken: %+v, %v; want a total of 3", res, err)
	}
	if waited := time.Since(start); waited < database.ScanSlotWait {
		t.Fatalf("a counted list ran after %s, before the slot's wait of %s was over", waited, database.ScanSlotWait)
	}
	// Its page and its count each waited, then ran without the slot.
	if got := scanMetric(t, db, "db_scan_slot_bypasses_total"); got != 2 {
		t.Fatalf("db_scan_slot_bypasses_total = %v, want 2", got)
	}
	if res, err := listNotes(ctx, db, nil); err != nil || len(res.Items) != 1 || res.Total != nil {
		t.Fatalf("a list that does not count, while the slot is taken: %+v, %v", res, err)
	}
	wctx := database.WithTenant(ctx, 1)
	if _, err := db.Q(wctx).Exec(wctx, "INSERT INTO notes (organization_id, body) VALUES (1, 'w')"); err != nil {
		t.Fatalf("a write while the slot is taken: %v", err)
	}

	if _, err := holder.Exec(ctx, "SELECT pg_advisory_unlock(4242)"); err != nil {
		t.Fatal(err)
	}
	// The first count's snapshot was taken before the write.
	if err := <-first; err != nil || firstRes.Total == nil || *firstRes.Total != 3 {
		t.Fatalf("the first count, once its lock is free: total %v, err %v; want 3", firstRes.Total, err)
	}
	if res, err := listNotes(ctx, db, &plain); err != nil || res.Total == nil || *res.Total != 4 {
		t.Fatalf("a counted list once the slot is free: %+v, %v; want a total of 4", res, err)
	}
	if got := scanMetric(t, db, "db_scan_slot_waits_total"); got != 2 {
		t.Fatalf("db_scan_slot_waits_total = %v after the slot was free, want still the 2 bypasses", got)
	}
	if got := scanMetric(t, db, "db_scan_slots_in_use"); got != 0 {
		t.Fatalf("db_scan_slots_in_use = %v once every list is done, want 0", got)
	}
}
