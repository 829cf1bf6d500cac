package analytics_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// An existing database, migrated before analytics existed (so also after the row-level
// security of deals, whose migrations are newer), gets the analytics migration on its next
// migrate and with it a read model equal to a recount of its deals.
func TestTheMigrationBackfillsAnExistingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Empty(t)

	var before []migrate.Source
	for _, s := range app.Sources() {
		if s.Module != "analytics" {
			before = append(before, s)
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
	for _, stmt := range []string{
		`INSERT INTO users (email, password_hash, name) VALUES ('a@example.com', 'x', 'A'), ('b@example.com', 'x', 'B')`,
		`INSERT INTO organizations (name) VALUES ('A'), ('B'), ('No deals')`,
		`INSERT INTO organization_members (organization_id, user_id, role) VALUES (1, 1, 'owner'), (2, 2, 'owner'), (3, 1, 'owner')`,
		`INSERT INTO contacts (organization_id, owner_id, name) VALUES (1, 1, 'C'), (2, 2, 'C')`,
		`INSERT INTO deals (organization_id, contact_id, owner_id, title, amount, currency, status, stage, max_stage, created_at)
		 SELECT o, o, o, 'Deal ' || g, (g * 37 % 100000) / 100.0, (ARRAY['USD', 'EUR'])[1 + g % 2],
		        (ARRAY['new', 'in_progress', 'won', 'lost'])[1 + (g / 2) % 4],
		        (ARRAY['qualification', 'proposal', 'negotiation', 'closed'])[s], s + (g / 8) % (5 - s),
		        now() - g * interval '7 hours'
		 FROM generate_series(1, 500) g, LATERAL (SELECT 1 + g % 2 AS o, 1 + (g / 3) % 4 AS s) x`,
	} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}

	if err := migrate.Up(url, app.Sources(), nil); err != nil {
		t.Fatal(err)
	}
	checkTables(t, db, 1)
	checkTables(t, db, 2)
	var n int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM analytics_deal_totals WHERE organization_id = 3)
		+ (SELECT count(*) FROM analytics_deals_created WHERE organization_id = 3)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("organization without deals has %d rows (%v)", n, err)
	}
}
