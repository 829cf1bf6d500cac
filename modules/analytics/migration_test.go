package analytics_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// An existing database, migrated before analytics existed (so also after the row-level
// security of deals, whose migrations are newer), gets the analytics migration on its next
// migrate and with it a read model equal to a recount of its deals.
func TestTheMigrationBackfillsAnExistingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, err := testdb.ServerURL()
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "crm_test_an_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run after the test returns, so the connection that drops the database must
	// be closed by a cleanup registered before the drop (cleanups run last-in, first-out).
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	url, err := database.WithDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}

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
