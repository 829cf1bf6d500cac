package deals_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Every write of a deal takes the organization's kept counts before the velocity read model
// (migration 20261203800100): two writers taking them in opposite orders can each wait for
// the other until PostgreSQL aborts one as a deadlock victim. Here the counts are locked
// while a new deal is inserted; its statement stops there, and by then it must not have
// written the stage history, whose triggers write the velocity rows. Once the counts are
// free the deal gets its first visit.
func TestANewDealWritesTheCountsBeforeTheStageHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := id(e.deal(e.team.Owner, map[string]any{"status": "won"}))
	ctx := context.Background()
	tx, err := e.sql.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "LOCK TABLE deal_counts_org IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	writer, err := pgx.Connect(ctx, e.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = writer.Close(ctx) }()
	var pid int
	if err := writer.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	inserted := make(chan int64, 1)
	failed := make(chan error, 1)
	go func() {
		var id int64
		err := writer.QueryRow(ctx, `INSERT INTO deals (organization_id, contact_id, owner_id, title, amount, currency, status)
			SELECT organization_id, contact_id, owner_id, 'Second', amount, currency, status FROM deals WHERE id = $1
			RETURNING id`, first).Scan(&id)
		if err != nil {
			failed <- err
			return
		}
		inserted <- id
	}()

	for deadline := time.Now().Add(10 * time.Second); ; {
		var waiting bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)", pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-failed:
			t.Fatal(err)
		case id := <-inserted:
			t.Fatalf("deal %d inserted while the counts were locked", id)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the insert never waited for the counts")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var held []string
	if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT c.relname::text), '{}')
		FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE l.pid = $1 AND l.granted AND c.relname IN ('deal_stage_history', 'deal_visit_days', 'deal_visit_months')`, pid).Scan(&held); err != nil {
		t.Fatal(err)
	}
	if len(held) != 0 {
		t.Errorf("waiting for the counts, the new deal's statement already holds %v", held)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var second int64
	select {
	case err := <-failed:
		t.Fatal(err)
	case second = <-inserted:
	}
	var visits int
	if err := e.sql.QueryRow(ctx, "SELECT count(*) FROM deal_stage_history WHERE deal_id = $1 AND left_at IS NOT NULL", second).Scan(&visits); err != nil {
		t.Fatal(err)
	}
	if visits != 1 {
		t.Errorf("the new won deal has %d finished visits, want its first one", visits)
	}
}
