package deals_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// A database whose deals predate pipelines gets, on its next migrate: the default pipeline
// for each deal, closed_at from the last status change into won or lost (else updated_at),
// stage_entered_at from the last stage change (else created_at), and a stage history made
// from the stage changes on the timeline.
func TestTheMigrationBackfillsDealsOnPipelines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Empty(t)
	before := testdb.Before(t, app.Sources(), "20261202100100")
	if err := migrate.Up(url, before, nil); err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for _, stmt := range []string{
		`INSERT INTO users (email, password_hash, name) VALUES ('a@example.com', 'x', 'A')`,
		`INSERT INTO organizations (name) VALUES ('A')`,
		`SELECT pipelines_create_default(1)`,
		`INSERT INTO organization_members (organization_id, user_id, role) VALUES (1, 1, 'owner')`,
		`INSERT INTO contacts (organization_id, owner_id, name) VALUES (1, 1, 'C')`,
		// 1: never changed; 2: moved twice, then won (and lost before); 3: lost with no record of it.
		`INSERT INTO deals (organization_id, contact_id, owner_id, title, amount, currency, status, stage, max_stage, created_at, updated_at)
		 VALUES (1, 1, 1, 'One', 1, 'USD', 'new', 'qualification', 1, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'),
		        (1, 1, 1, 'Two', 1, 'USD', 'won', 'negotiation', 3, '2026-01-01T00:00:00Z', '2026-01-09T00:00:00Z'),
		        (1, 1, 1, 'Three', 1, 'USD', 'lost', 'proposal', 2, '2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z')`,
		`INSERT INTO activities (organization_id, deal_id, type, payload, created_at) VALUES
		 (1, 2, 'stage_changed', '{"from": "qualification", "to": "proposal"}', '2026-01-03T00:00:00Z'),
		 (1, 2, 'status_changed', '{"from": "new", "to": "lost"}', '2026-01-04T00:00:00Z'),
		 (1, 2, 'stage_changed', '{"from": "proposal", "to": "negotiation"}', '2026-01-05T00:00:00Z'),
		 (1, 2, 'status_changed', '{"from": "lost", "to": "won"}', '2026-01-06T00:00:00Z'),
		 (1, 2, 'comment', '{"text": "x"}', '2026-01-07T00:00:00Z')`,
	} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := migrate.Up(url, app.Sources(), nil); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.QueryRow(ctx, `SELECT string_agg(format('%s %s %s %s', d.id, d.pipeline_id = pipelines_default_id(1),
			coalesce(to_char(d.closed_at AT TIME ZONE 'UTC', 'MM-DD'), '-'), to_char(d.stage_entered_at AT TIME ZONE 'UTC', 'MM-DD')), '; ' ORDER BY d.id)
		FROM deals d`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "1 t - 01-01; 2 t 01-06 01-05; 3 t 01-05 01-01"; got != want {
		t.Errorf("deals %q, want %q", got, want)
	}
	if err := db.QueryRow(ctx, `SELECT string_agg(format('%s %s %s-%s', h.deal_id, h.stage, to_char(h.entered_at AT TIME ZONE 'UTC', 'MM-DD'),
			coalesce(to_char(h.left_at AT TIME ZONE 'UTC', 'MM-DD'), '')), '; ' ORDER BY h.deal_id, h.entered_at)
		FROM deal_stage_history h`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := "1 qualification 01-01-; 2 qualification 01-01-01-03; 2 proposal 01-03-01-05; 2 negotiation 01-05-01-06; 3 proposal 01-01-01-05"
	if got != want {
		t.Errorf("history %q, want %q", got, want)
	}
}
