// Package migrate applies the migrations of every module with dbmate. Each module embeds its
// own files under "migrations/"; they are mounted side by side in one file system and dbmate
// applies them in timestamp order into one schema_migrations table.
package migrate

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/amacneil/dbmate/v2/pkg/dbmate"
	_ "github.com/amacneil/dbmate/v2/pkg/driver/postgres" // registers the postgres driver
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/mini-crm/crm/platform/database"
)

// Source is one module's migrations.
type Source struct {
	Module string
	FS     fs.FS // holds migrations/*.sql
}

// mounted serves each source's FS under "<module>/".
type mounted map[string]fs.FS

func (m mounted) Open(name string) (fs.File, error) {
	first, rest, _ := strings.Cut(name, "/")
	sub, ok := m[first]
	if !ok || rest == "" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return sub.Open(rest)
}

// New returns a dbmate instance over all sources for the database at dbURL.
func New(dbURL string, sources []Source, log io.Writer) (*dbmate.DB, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, fmt.Errorf("migrate: parse url: %w", err)
	}
	m := mounted{}
	var dirs []string
	versions := map[string]string{}
	for _, s := range sources {
		if s.FS == nil {
			continue
		}
		m[s.Module] = s.FS
		dirs = append(dirs, path.Join(s.Module, "migrations"))
		files, err := fs.ReadDir(s.FS, "migrations")
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s migrations: %w", s.Module, err)
		}
		for _, f := range files {
			v, _, _ := strings.Cut(f.Name(), "_")
			if other, dup := versions[v]; dup {
				return nil, fmt.Errorf("migrate: version %s is used by both %s and %s", v, other, s.Module)
			}
			versions[v] = s.Module
		}
	}
	sort.Strings(dirs)
	db := dbmate.New(u)
	db.FS = m
	db.MigrationsDir = dirs
	db.AutoDumpSchema = false
	db.SchemaFile = "db/schema.sql"
	if log != nil {
		db.Log = log
	} else {
		db.Log = io.Discard
	}
	return db, nil
}

// UpWhenReachable waits, as r says, until the server at dbURL accepts connections (it may
// still be starting, or not yet listening on TCP), then runs Up. The database itself need
// not exist yet.
func UpWhenReachable(ctx context.Context, dbURL string, sources []Source, log io.Writer, r database.Retry) error {
	if err := database.WaitForServer(ctx, dbURL, r); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return Up(dbURL, sources, log)
}

// Up creates the database when missing and applies every pending migration.
func Up(dbURL string, sources []Source, log io.Writer) error {
	db, err := New(dbURL, sources, log)
	if err != nil {
		return err
	}
	if err := db.CreateAndMigrate(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return upQueue(dbURL)
}

// upQueue applies the job queue's own migrations (River's tables), which River versions and
// ships with the library, after ours: the same command brings the whole schema up to date.
func upQueue(dbURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("migrate: queue: %w", err)
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("migrate: queue: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate: queue: %w", err)
	}
	return nil
}
