package app_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// referenceTables are the tables without an organization_id: under a distributed database
// (Citus) they are reference tables, copied to every node, or stay on the coordinator
// (River's queue and the migration log). A new global table must be added here on purpose,
// with a line in the README's scaling section.
var referenceTables = []string{
	"users", "organizations", "refresh_tokens", "event_sequencer", // reference tables
	"schema_migrations",                                                                                                       // the migration log
	"river_job", "river_leader", "river_migration", "river_notification", "river_queue", "river_client", "river_client_queue", // River, on the coordinator
}

// Every tenant table can be distributed by organization_id: it has a primary key, the
// organization is in that key and in every unique index, and every foreign key between two
// tenant tables carries the organization in the same place on both sides, so that a row and
// everything it references always live on the same shard. Every other table is a known
// reference (global) table.
func TestEveryTenantTableCanBeDistributedByOrganization(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	ctx := context.Background()
	rows, err := s.App.DB.Pool.Query(ctx, `
		WITH tenant AS (
		    SELECT c.oid, c.relname, a.attnum AS org
		    FROM pg_class c
		    JOIN pg_namespace n ON n.oid = c.relnamespace
		    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
		    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = current_schema())
		SELECT 'has no primary key', t.relname, '' FROM tenant t
		WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'p')
		UNION ALL
		SELECT 'has a unique index without organization_id', t.relname, i.indexrelid::regclass::text
		FROM tenant t JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique
		WHERE NOT (t.org = ANY (i.indkey::int2[]))
		UNION ALL
		SELECT 'has a foreign key to a tenant table without organization_id on both sides', t.relname, f.conname
		FROM tenant t
		JOIN pg_constraint f ON f.conrelid = t.oid AND f.contype = 'f'
		JOIN tenant p ON p.oid = f.confrelid
		WHERE array_position(f.conkey, t.org) IS NULL
		   OR array_position(f.conkey, t.org) IS DISTINCT FROM array_position(f.confkey, p.org)
		UNION ALL
		SELECT 'global', c.relname, '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = current_schema()
		  AND c.oid NOT IN (SELECT oid FROM tenant)
		ORDER BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	tenant := 0
	for rows.Next() {
		var problem, table, what string
		if err := rows.Scan(&problem, &table, &what); err != nil {
			t.Fatal(err)
		}
		if problem == "global" {
			if !slices.Contains(referenceTables, table) {
				t.Errorf("table %s has no organization_id and is not a known reference table", table)
			}
			continue
		}
		t.Errorf("tenant table %s %s %s", table, problem, what)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The check above must have looked at the tables it is about.
	err = s.App.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'organization_id'`).Scan(&tenant)
	if err != nil || tenant < 15 {
		t.Fatalf("%d tenant tables found (err %v): the catalog query sees the wrong schema", tenant, err)
	}
}

// The README's Citus commands distribute exactly the tenant tables there are: a new tenant
// table that the scaling section does not name fails here.
func TestTheScalingSectionNamesEveryTenantTable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "SELECT create_distributed_table('organization_members'")
	end := strings.Index(text[max(start, 0):], "]) t;")
	if start < 0 || end < 0 {
		t.Fatal("the README's scaling section has no create_distributed_table commands")
	}
	var named []string
	for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(text[start:start+end], -1) {
		if m[1] != "organization_id" {
			named = append(named, m[1])
		}
	}
	s := apptest.New(t)
	rows, err := s.App.DB.Pool.Query(context.Background(), `SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = current_schema() ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(named)
	named = slices.Compact(named)
	for _, tb := range tables {
		if !slices.Contains(named, tb) {
			t.Errorf("tenant table %s is not distributed by the README's scaling section", tb)
		}
	}
	for _, n := range named {
		if !slices.Contains(tables, n) {
			t.Errorf("the README's scaling section distributes %s, which is not a tenant table", n)
		}
	}
}
