// Package testdb gives each test its own migrated PostgreSQL database. It connects to
// TEST_DATABASE_URL, else DATABASE_URL, else the local server; when none answers and a
// Docker engine is available it starts PostgreSQL with dockertest. The schema is migrated
// once into a template database (named after a hash of the migrations) and cloned per test.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ory/dockertest/v3"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
)

// DefaultURL is the local server used when no variable names one.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
	tplMu      sync.Mutex
	tplDone    = map[string]bool{}
)

// ServerURL returns the URL of a PostgreSQL server for tests, starting one with dockertest
// only when no configured server answers.
func ServerURL() (string, error) {
	serverOnce.Do(func() {
		for _, u := range []string{os.Getenv("TEST_DATABASE_URL"), os.Getenv("DATABASE_URL"), DefaultURL} {
			if u == "" {
				continue
			}
			if admin, err := database.WithDatabase(u, "postgres"); err == nil && ping(admin) == nil {
				serverURL = admin
				return
			}
		}
		serverURL, serverErr = startDocker()
	})
	return serverURL, serverErr
}

func ping(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

func startDocker() (string, error) {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return "", fmt.Errorf("testdb: no PostgreSQL answers and docker is not usable: %w", err)
	}
	if err := pool.Client.Ping(); err != nil {
		return "", fmt.Errorf("testdb: no PostgreSQL answers and no Docker engine runs: %w", err)
	}
	res, err := pool.Run("postgres", "16-alpine", []string{"POSTGRES_HOST_AUTH_METHOD=trust"})
	if err != nil {
		return "", fmt.Errorf("testdb: start postgres container: %w", err)
	}
	_ = res.Expire(900) // the container removes itself even if the test binary is killed
	url := fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", res.GetHostPort("5432/tcp"))
	pool.MaxWait = 60 * time.Second
	if err := pool.Retry(func() error { return ping(url) }); err != nil {
		return "", fmt.Errorf("testdb: postgres container did not answer: %w", err)
	}
	return url, nil
}

// Fingerprint hashes the migration files of sources.
func Fingerprint(sources []migrate.Source) (string, error) {
	h := sha256.New()
	for _, s := range sources {
		if s.FS == nil {
			continue
		}
		var names []string
		err := fs.WalkDir(s.FS, "migrations", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				names = append(names, p)
			}
			return err
		})
		if err != nil {
			return "", err
		}
		sort.Strings(names)
		for _, n := range names {
			b, err := fs.ReadFile(s.FS, n)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s/%s\n%s\n", s.Module, n, b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Template returns the name of a migrated template database for sources, creating it when
// missing. Concurrent test binaries serialise on an advisory lock.
func Template(ctx context.Context, sources []migrate.Source) (string, error) {
	admin, err := ServerURL()
	if err != nil {
		return "", err
	}
	fp, err := Fingerprint(sources)
	if err != nil {
		return "", err
	}
	name := "crm_tpl_" + fp
	tplMu.Lock()
	defer tplMu.Unlock()
	if tplDone[name] {
		return name, nil
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		return "", err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(727274)") //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		building := name + "_building"
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
			return "", err
		}
		url, err := database.WithDatabase(admin, building)
		if err != nil {
			return "", err
		}
		if err := migrate.Up(url, sources, nil); err != nil {
			return "", err
		}
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
			return "", err
		}
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+name+" WITH IS_TEMPLATE true"); err != nil {
			return "", err
		}
	}
	tplDone[name] = true
	return name, nil
}

// URL creates a fresh database cloned from the migrated template and returns its URL. The
// database is dropped when the test ends.
func URL(t testing.TB, sources []migrate.Source) string {
	t.Helper()
	ctx := context.Background()
	tpl, err := Template(ctx, sources)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	admin, _ := ServerURL()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "crm_test_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tpl); err != nil {
		t.Fatalf("testdb: clone template: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	url, err := database.WithDatabase(admin, name)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return url
}

// New returns a pool on a fresh migrated database, closed when the test ends. When the
// sources include the platform's database migrations, the pool runs as the application role,
// as the service does, so row-level security applies in tests too.
func New(t testing.TB, sources []migrate.Source) *database.DB {
	t.Helper()
	o := database.Options{MaxConns: 8, StatementTimeout: 30 * time.Second}
	for _, s := range sources {
		if s.Module == "database" {
			o.Role = database.AppRole
		}
	}
	db, err := database.Open(context.Background(), URL(t, sources), o)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// Open returns another pool, as the application role, on the database of url (made by URL
// with the platform's migrations): a second replica of the service on the same database.
func Open(t testing.TB, url string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), url, database.Options{MaxConns: 8, StatementTimeout: 30 * time.Second, Role: database.AppRole})
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}
