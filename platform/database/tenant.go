package database

import (
	"context"
	"embed"
	"io/fs"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the platform's own migrations: the application role and the functions
// the tenant tables' row-level security policies use.
func Migrations() fs.FS { return migrations }

// AppRole is the role the pool switches to on connect, so that row-level security applies.
const AppRole = "crm_app"

type scope struct {
	org, user, key int64
	// perValues: the statements are planned for their parameter values each time (see
	// PlanForValues).
	perValues bool
}

type scopeKey struct{}

// WithTenant returns ctx scoped to an organization: every statement run through Q or
// WithinTx with it sees only that organization's rows of the tenant tables.
func WithTenant(ctx context.Context, orgID int64) context.Context {
	s, _ := scopeOf(ctx)
	s.org = orgID
	return context.WithValue(ctx, scopeKey{}, s)
}

// WithUser returns ctx carrying the acting user, for the tables a user sees across their
// organizations (their memberships).
func WithUser(ctx context.Context, userID int64) context.Context {
	s, _ := scopeOf(ctx)
	s.user = userID
	return context.WithValue(ctx, scopeKey{}, s)
}

// WithAPIKey returns ctx carrying the API key a request authenticated with (as well as its
// creator, WithUser), for the rows that are a key's own and not its creator's: its idempotency
// records.
func WithAPIKey(ctx context.Context, keyID int64) context.Context {
	s, _ := scopeOf(ctx)
	s.key = keyID
	return context.WithValue(ctx, scopeKey{}, s)
}

// PlanForValues returns ctx whose statements PostgreSQL plans for their parameter values
// every time they run, rather than with the generic plan it settles on for a prepared
// statement after five runs (plan_cache_mode = force_custom_plan, for the statement's own
// round trip, or for a transaction begun with ctx). A generic plan is made for an average
// organization and an unknown value; for a filter whose best plan depends on both, such as
// a text search in an organization of 200,000 contacts, it can cost several times the custom
// one, while planning costs a fraction of a millisecond. Only scoped statements (WithTenant,
// WithUser) are affected.
func PlanForValues(ctx context.Context) context.Context {
	s, _ := ctx.Value(scopeKey{}).(scope)
	s.perValues = true
	return context.WithValue(ctx, scopeKey{}, s)
}

// scopeOf returns the scope set with WithTenant/WithUser. Whoever establishes the tenant of
// a unit of work (the web guard for a request, a job for its organization) sets it once;
// nothing guesses it from other values in the context.
func scopeOf(ctx context.Context) (scope, bool) {
	s, _ := ctx.Value(scopeKey{}).(scope)
	return s, s.org != 0 || s.user != 0 || s.key != 0
}

const (
	setScopeSQL = "SELECT set_config('app.organization_id', $1, true), set_config('app.user_id', $2, true), " +
		"set_config('app.api_key_id', $3, true)"
	customPlansSQL = "set_config('plan_cache_mode', 'force_custom_plan', true)"
	// setScopePerValuesSQL is setScopeSQL for a scope planned for its values.
	setScopePerValuesSQL = setScopeSQL + ", " + customPlansSQL
)

func (s scope) setSQL() string {
	if s.perValues {
		return setScopePerValuesSQL
	}
	return setScopeSQL
}

func idArg(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// SetTenant switches the transaction carried by ctx to orgID, for a use case that creates
// an organization and then writes its first tenant rows. It returns the context to use.
func (db *DB) SetTenant(ctx context.Context, orgID int64) (context.Context, error) {
	ctx = WithTenant(ctx, orgID)
	if t, ok := ctx.Value(txKey{}).(*txState); ok {
		s, _ := scopeOf(ctx)
		if _, err := t.tx.Exec(ctx, s.setSQL(), idArg(s.org), idArg(s.user), idArg(s.key)); err != nil {
			return ctx, MapError(err)
		}
	}
	return ctx, nil
}

// scoped runs each statement in the same round trip as the settings of its scope: a batch
// is one implicit transaction, so the transaction-local settings hold for the statement and
// vanish with it, and a pooled connection never carries one request's tenant into another's.
type scoped struct {
	db *DB
	s  scope
}

func (q scoped) batch(sql string, args []any) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(q.s.setSQL(), idArg(q.s.org), idArg(q.s.user), idArg(q.s.key))
	b.Queue(sql, args...)
	return b
}

func (q scoped) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	br := q.db.Pool.SendBatch(ctx, q.batch(sql, args))
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if err != nil {
		return tag, err
	}
	return tag, br.Close()
}

func (q scoped) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br := q.db.Pool.SendBatch(ctx, q.batch(sql, args))
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (q scoped) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := q.Query(ctx, sql, args...)
	return batchRow{rows: rows, err: err}
}

func (q scoped) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	full := &pgx.Batch{}
	full.Queue(q.s.setSQL(), idArg(q.s.org), idArg(q.s.user), idArg(q.s.key))
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	br := q.db.Pool.SendBatch(ctx, full)
	if _, err := br.Exec(); err != nil {
		return errBatch{BatchResults: br, err: err}
	}
	return br
}

func (q scoped) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	var n int64
	err := q.db.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		n, err = q.db.Q(ctx).CopyFrom(ctx, table, cols, src)
		return err
	})
	return n, err
}

// batchRows closes its batch with the rows, returning the connection to the pool.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

// Next closes the batch once the rows are exhausted, as pgx closes plain rows, so that a
// caller that reads to the end without calling Close still gives the connection back.
func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

type batchRow struct {
	rows pgx.Rows
	err  error
}

func (r batchRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// errBatch reports a failed scope statement from every result.
type errBatch struct {
	pgx.BatchResults
	err error
}

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return batchRow{err: b.err} }
func (b errBatch) Close() error                     { _ = b.BatchResults.Close(); return b.err }
