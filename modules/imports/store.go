package imports

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/platform/database"
)

// Import is an import as its organization sees it.
type Import struct {
	ID            int64           `db:"id"`
	OrgID         int64           `db:"organization_id"`
	Type          string          `db:"type"`
	DryRun        bool            `db:"dry_run"`
	Status        string          `db:"status"`
	CreatedBy     int64           `db:"created_by"`
	APIKeyID      *int64          `db:"api_key_id"`
	TotalRows     *int            `db:"total_rows"`
	ProcessedRows int             `db:"processed_rows"`
	Created       int             `db:"created"`
	ErrorCount    int             `db:"error_count"`
	Errors        json.RawMessage `db:"errors"`
	CreatedAt     time.Time       `db:"created_at"`
	FinishedAt    *time.Time      `db:"finished_at"`
}

var importCols = []string{"id", "organization_id", "type", "dry_run", "status", "created_by", "api_key_id", "total_rows",
	"processed_rows", "created", "error_count", "errors", "created_at", "finished_at"}

const importReturning = "RETURNING id, organization_id, type, dry_run, status, created_by, api_key_id, total_rows, " +
	"processed_rows, created, error_count, errors, created_at, finished_at"

// store holds the imports and their files. Every method filters by the organization it is given.
type store struct{ db *database.DB }

// lockSubmissions serialises the submissions of one organization until the transaction ends,
// so that the count of waiting imports is exact.
func (s store) lockSubmissions(ctx context.Context, orgID int64) error {
	_, err := s.db.Q(ctx).Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('imports:' || $1::bigint, 0))`, orgID)
	return database.MapError(err)
}

// tryLockRunning takes the organization's one running slot for the rest of the transaction;
// false when another import of the organization holds it.
func (s store) tryLockRunning(ctx context.Context, orgID int64) (bool, error) {
	var ok bool
	err := s.db.Q(ctx).QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended('imports_running:' || $1::bigint, 0))`, orgID).Scan(&ok)
	return ok, database.MapError(err)
}

func (s store) countQueued(ctx context.Context, orgID int64) (int, error) {
	return database.Scalar[int](ctx, s.db.Q(ctx), database.SQL.Select("count(*)").From("imports").
		Where(sq.Eq{"organization_id": orgID, "status": StatusQueued}))
}

type newImport struct {
	Type      string
	DryRun    bool
	CreatedBy int64
	APIKeyID  *int64
	Body      []byte
}

// insert stores an import and its file.
func (s store) insert(ctx context.Context, orgID int64, in newImport) (Import, error) {
	imp, err := database.Get[Import](ctx, s.db.Q(ctx), database.SQL.Insert("imports").
		Columns("organization_id", "type", "dry_run", "created_by", "api_key_id", "size_bytes").
		Values(orgID, in.Type, in.DryRun, in.CreatedBy, in.APIKeyID, len(in.Body)).Suffix(importReturning))
	if err != nil {
		return imp, fmt.Errorf("insert import: %w", err)
	}
	_, err = s.db.Q(ctx).Exec(ctx, `INSERT INTO import_uploads (organization_id, import_id, body) VALUES ($1, $2, $3)`,
		orgID, imp.ID, in.Body)
	if err != nil {
		return imp, fmt.Errorf("insert import file: %w", database.MapError(err))
	}
	return imp, nil
}

func (s store) get(ctx context.Context, orgID, id int64) (Import, error) {
	imp, err := database.Get[Import](ctx, s.db.Q(ctx), database.SQL.Select(importCols...).From("imports").
		Where(sq.Eq{"organization_id": orgID, "id": id}))
	if database.IsNoRows(err) {
		return imp, ErrImportNotFound
	}
	if err != nil {
		return imp, fmt.Errorf("get import: %w", err)
	}
	return imp, nil
}

// importOrder is newest first.
var importOrder = database.Order{Key: "imports:created_at:desc",
	Cols: []database.KeyCol{{Expr: "created_at", Type: "timestamptz"}, {Expr: "id", Type: "bigint"}}, Desc: true}

func (s store) list(ctx context.Context, orgID int64, w database.Window) (database.Result[Import], error) {
	where := sq.Eq{"organization_id": orgID}
	return database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select(importCols...).From("imports").Where(where),
		database.SQL.Select("count(*)").From("imports").Where(where),
		importOrder, w.Unfiltered(), func(i Import) []string { return []string{database.TimeKey(i.CreatedAt), database.IDKey(i.ID)} })
}

// file returns the file of an import; false once the import has finished with it.
func (s store) file(ctx context.Context, orgID, id int64) ([]byte, bool, error) {
	body, err := database.Scalar[[]byte](ctx, s.db.Q(ctx), database.SQL.Select("body").From("import_uploads").
		Where(sq.Eq{"organization_id": orgID, "import_id": id}))
	if database.IsNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get import file: %w", err)
	}
	return body, true, nil
}

// start marks an import running from now, with nothing processed yet.
func (s store) start(ctx context.Context, orgID, id int64) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("imports").
		Set("status", StatusRunning).Set("started_at", sq.Expr("clock_timestamp()")).Set("processed_rows", 0).
		Set("total_rows", nil).Where(sq.Eq{"organization_id": orgID, "id": id, "finished_at": nil}))
	return err
}

// progress records how far a running import has come.
func (s store) progress(ctx context.Context, orgID, id int64, total *int, processed int) error {
	q := database.SQL.Update("imports").Set("processed_rows", processed).
		Where(sq.Eq{"organization_id": orgID, "id": id, "status": StatusRunning})
	if total != nil {
		q = q.Set("total_rows", *total)
	}
	_, err := database.Exec(ctx, s.db.Q(ctx), q)
	return err
}

// outcome is how an import ended.
type outcome struct {
	Status     string
	Total      *int
	Processed  int
	Created    int
	ErrorCount int
	Errors     []RowError
}

// finish records the outcome of an import and drops its file.
func (s store) finish(ctx context.Context, orgID, id int64, o outcome) error {
	errs := o.Errors
	if errs == nil {
		errs = []RowError{}
	}
	raw, err := json.Marshal(errs)
	if err != nil {
		return err
	}
	q := database.SQL.Update("imports").Set("status", o.Status).Set("processed_rows", o.Processed).
		Set("created", o.Created).Set("error_count", o.ErrorCount).Set("errors", string(raw)).
		Set("finished_at", sq.Expr("clock_timestamp()")).Where(sq.Eq{"organization_id": orgID, "id": id, "finished_at": nil})
	if o.Total != nil {
		q = q.Set("total_rows", *o.Total)
	}
	if _, err := database.Exec(ctx, s.db.Q(ctx), q); err != nil {
		return fmt.Errorf("finish import: %w", err)
	}
	_, err = database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("import_uploads").
		Where(sq.Eq{"organization_id": orgID, "import_id": id}))
	return err
}
