package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"path"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
)

// Empty creates an empty database (no migrations), dropped when the test ends, and returns
// its URL: for tests that build a database as an older release left it.
func Empty(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin, err := ServerURL()
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "crm_test_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	// Cleanups run last-in, first-out: the connection that drops the database closes after.
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	url, err := database.WithDatabase(admin, name)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return url
}

// Before returns the sources with only their migrations older than version (a timestamp
// prefix): the schema as it was before that migration, to test what it does to existing data.
func Before(t testing.TB, sources []migrate.Source, version string) []migrate.Source {
	t.Helper()
	var out []migrate.Source
	for _, s := range sources {
		older := fstest.MapFS{}
		names, err := fs.Glob(s.FS, "migrations/*.sql")
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
		for _, n := range names {
			if path.Base(n) >= version {
				continue
			}
			b, err := fs.ReadFile(s.FS, n)
			if err != nil {
				t.Fatalf("testdb: %v", err)
			}
			older[n] = &fstest.MapFile{Data: b}
		}
		if len(older) > 0 {
			out = append(out, migrate.Source{Module: s.Module, FS: older})
		}
	}
	return out
}
