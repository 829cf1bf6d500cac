// Package database owns the connection pool, the transaction carried in the context, the
// squirrel builder with PostgreSQL placeholders and the mapping of PostgreSQL errors to
// application errors. Services open transactions with WithinTx; stores ask for the current
// querier with Q and never decide about transactions themselves.
package database

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SQL builds statements with $n placeholders.
var SQL = sq.StatementBuilder.PlaceholderFormat(sq.Dollar)

// Querier is what stores run statements on: the pool or the transaction in the context.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error)
}

// DB is the application's handle on PostgreSQL.
type DB struct {
	Pool *pgxpool.Pool
	// scans holds a token per statement running in a scan slot (see inSlot); nil: no limit.
	scans chan struct{}
	// scanWaits and scanWaitNanos count the statements that waited for a slot and how long,
	// scanBypasses those of them that ran without one after ScanSlotWait.
	scanWaits, scanWaitNanos, scanBypasses atomic.Int64
}

type txKey struct{}

// SessionParams are the settings every connection of the service starts with:
//   - no parallel query: a capped count's two workers cost more to start, and take more
//     cores from concurrent requests, than they save;
//   - no synchronized sequential scans: a capped count the planner answers by scanning the
//     table until 10,001 matches would start wherever another scan of the table happens to
//     be, and read 528 pages or 22,593 for the same count (7 ms or 493 ms) depending on it.
var SessionParams = map[string]string{"max_parallel_workers_per_gather": "0", "synchronize_seqscans": "off"}

// Options tune the pool.
type Options struct {
	MaxConns int32
	// StatementTimeout makes the server cancel any statement that runs longer, so a runaway
	// query cannot hold a connection after its request has given up.
	StatementTimeout time.Duration
	// Role, when set, is switched to on every new connection (SET ROLE), so that row-level
	// security applies to the application's queries even when it connects as the owner.
	Role string
	// Connect says how long the first connection is retried while the server cannot be
	// reached; the zero value makes one attempt.
	Connect Retry
	// ScanSlots is how many statements of filtered lists run at once (see DefaultScanSlots);
	// 0 gives DefaultScanSlots, a negative value no limit.
	ScanSlots int
}

// Open connects a pool to url and checks that the server answers, waiting for it as
// o.Connect says. The pool holds o.MaxConns connections, DefaultMaxConns when unset.
func Open(ctx context.Context, url string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database: parse url: %w", err)
	}
	switch {
	case o.MaxConns > 0:
		cfg.MaxConns = o.MaxConns
	case !strings.Contains(url, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	if o.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(o.StatementTimeout.Milliseconds())
	}
	// SessionParams (a capped count of 10,001 deals: 175 ms with two parallel workers, 27 ms
	// without). The benchmark's direct-SQL side runs with the same settings.
	for k, v := range SessionParams {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	cfg.ConnConfig.ConnectTimeout = attemptTimeout
	cfg.ConnConfig.Tracer = queryTracer{}
	if o.Role != "" {
		setRole := "SET ROLE " + pgx.Identifier{o.Role}.Sanitize()
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, setRole)
			return err
		}
	}
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: connect: %w", err)
	}
	err = o.Connect.Do(ctx, "database", func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
		defer cancel()
		if err := pool.Ping(ctx); err != nil {
			return fmt.Errorf("database: ping: %w", err)
		}
		return nil
	})
	if err != nil {
		pool.Close()
		return nil, err
	}
	db := &DB{Pool: pool}
	if n := cmp.Or(o.ScanSlots, DefaultScanSlots()); n > 0 {
		db.scans = make(chan struct{}, n)
	}
	return db, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Q returns the transaction carried by ctx or, outside a transaction, the pool; when ctx is
// scoped to a tenant or user (WithTenant, WithUser), each statement runs with that scope.
func (db *DB) Q(ctx context.Context) Querier {
	if t, ok := ctx.Value(txKey{}).(*txState); ok {
		return t.tx
	}
	if s, ok := scopeOf(ctx); ok {
		return scoped{db: db, s: s}
	}
	return db.Pool
}

// InTx reports whether ctx carries a transaction.
func InTx(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*txState)
	return ok
}

// TxOf returns the transaction carried by ctx, for libraries that take a pgx.Tx (the job
// queue inserts its jobs in the write's transaction).
func TxOf(ctx context.Context) (pgx.Tx, bool) {
	if t, ok := ctx.Value(txKey{}).(*txState); ok {
		return t.tx, true
	}
	return nil, false
}

// txState is the transaction carried by a context and the work to do once it commits.
type txState struct {
	tx          pgx.Tx
	afterCommit []func()
	once        map[any]bool
}

// FirstInTx reports whether this is the first time key is seen in the transaction carried by
// ctx, so that something a transaction needs once (one notification per organization, however
// many of its rows it writes) is done once. Outside a transaction it is always true.
func FirstInTx(ctx context.Context, key any) bool {
	t, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return true
	}
	if t.once[key] {
		return false
	}
	if t.once == nil {
		t.once = map[any]bool{}
	}
	t.once[key] = true
	return true
}

// SeenInTx reports whether FirstInTx has seen key in the transaction carried by ctx; outside
// a transaction it is false.
func SeenInTx(ctx context.Context, key any) bool {
	t, ok := ctx.Value(txKey{}).(*txState)
	return ok && t.once[key]
}

// AfterCommit runs fn once the transaction carried by ctx has committed, and never when it
// rolls back; outside a transaction it runs fn at once. Announcements that others act on
// (a cache dropping what a write changed) go here, so that nobody acts on a write that may
// still roll back, or reads the old state again before the new one is visible.
func AfterCommit(ctx context.Context, fn func()) {
	if t, ok := ctx.Value(txKey{}).(*txState); ok {
		t.afterCommit = append(t.afterCommit, fn)
		return
	}
	fn()
}

// WithinTx runs fn in a transaction carried by the context it is given. A nested call joins
// the outer transaction, so facades of other modules called from fn commit or roll back with
// it. fn's error rolls the transaction back and is returned as is.
func (db *DB) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if InTx(ctx) {
		return fn(ctx)
	}
	return db.runTx(ctx, "BEGIN", "", fn)
}

// WithinTxOnce is WithinTx for an fn that cannot run twice, such as a request's handler
// chain (the idempotency middleware's): a deadlock victim is not run again, its error is
// returned.
func (db *DB) WithinTxOnce(ctx context.Context, fn func(ctx context.Context) error) error {
	if InTx(ctx) {
		return fn(ctx)
	}
	return db.runTxOnce(ctx, "BEGIN", "", fn)
}

// txAttempts is how many times a transaction is run when PostgreSQL aborts it as a deadlock
// victim or for a serialization failure.
const txAttempts = 3

// runTx runs fn in a transaction opened by begin (a BEGIN statement) followed by extra
// statements of the same round trip ("" for none). A transaction that PostgreSQL aborted to
// break a deadlock or for a serialization failure is run again from the start, as the
// PostgreSQL manual advises (up to txAttempts in all, after a short random pause): writers
// of one organization meet on the rows of its read models and kept counts, which different
// writes (a new closed deal, a delete, a move to the trash) reach in different orders. fn
// must therefore keep its effects in the transaction or in AfterCommit, as every use case
// does; the work an aborted attempt queued with AfterCommit is dropped with it.
func (db *DB) runTx(ctx context.Context, begin, extra string, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := db.runTxOnce(ctx, begin, extra, fn)
		if code := PgCode(err); attempt == txAttempts || (code != CodeDeadlock && code != CodeSerialization) {
			return err
		}
		pause := time.Duration(attempt) * time.Duration(1+rand.IntN(10)) * time.Millisecond //nolint:gosec // jitter, not a secret
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

func (db *DB) runTxOnce(ctx context.Context, begin, extra string, fn func(ctx context.Context) error) error {
	var opts pgx.TxOptions
	if s, ok := scopeOf(ctx); ok {
		// The scope is set in the same round trip as BEGIN. The values are decimal ids or
		// empty, so writing them into the statement is safe.
		opts.BeginQuery = begin + "; SELECT set_config('app.organization_id', '" + idArg(s.org) +
			"', true), set_config('app.user_id', '" + idArg(s.user) + "', true), set_config('app.api_key_id', '" +
			idArg(s.key) + "', true)"
		if s.perValues {
			opts.BeginQuery += ", " + customPlansSQL
		}
	} else if begin != "BEGIN" {
		opts.BeginQuery = begin
	}
	if extra != "" {
		opts.BeginQuery = cmp.Or(opts.BeginQuery, begin) + "; " + extra
	}
	tx, err := db.Pool.BeginTx(ctx, opts)
	if err != nil {
		return MapError(fmt.Errorf("begin: %w", err))
	}
	defer func() {
		// Rollback after Commit is a no-op; after a panic it releases the connection.
		_ = tx.Rollback(context.WithoutCancel(ctx))
	}()
	state := &txState{tx: tx}
	if err := fn(context.WithValue(ctx, txKey{}, state)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return MapError(fmt.Errorf("commit: %w", err))
	}
	for _, after := range state.afterCommit {
		after()
	}
	return nil
}

// PositionalRow is implemented (on the pointer) by a row type that scans itself: Columns names
// the columns of its statements in order, and ScanTargets returns pointers to its fields in
// that order. Get and Select scan such a type by position when a statement's columns are
// exactly those, sparing the reflection of scanning by name on every row of the hot paths
// (a sixth of a deal list page's CPU in the service), and by name otherwise.
type PositionalRow interface {
	Columns() []string
	ScanTargets() []any
}

// rowScanner returns how to scan the rows of one statement into a T: by position when *T is
// a PositionalRow whose columns are the statement's (checked on the first row, when the
// columns are known), else by name.
func rowScanner[T any]() pgx.RowToFunc[T] {
	var probe T
	p, ok := any(&probe).(PositionalRow)
	if !ok {
		return pgx.RowToStructByName[T]
	}
	var byPosition *bool
	return func(row pgx.CollectableRow) (T, error) {
		if byPosition == nil {
			same := slices.EqualFunc(row.FieldDescriptions(), p.Columns(), func(f pgconn.FieldDescription, c string) bool { return f.Name == c })
			byPosition = &same
		}
		if !*byPosition {
			return pgx.RowToStructByName[T](row)
		}
		var v T
		err := row.Scan(any(&v).(PositionalRow).ScanTargets()...)
		return v, err
	}
}

// Get runs a squirrel query expected to return one row and scans it into a T by column name
// (or by position: PositionalRow). No row gives pgx.ErrNoRows.
func Get[T any](ctx context.Context, q Querier, b sq.Sqlizer) (T, error) {
	var zero T
	sqlText, args, err := b.ToSql()
	if err != nil {
		return zero, fmt.Errorf("build sql: %w", err)
	}
	rows, err := q.Query(ctx, sqlText, args...)
	if err != nil {
		return zero, MapError(err)
	}
	v, err := pgx.CollectExactlyOneRow(rows, rowScanner[T]())
	if err != nil {
		return zero, MapError(err)
	}
	return v, nil
}

// Select runs a squirrel query and scans every row into a T by column name (or by position:
// PositionalRow).
func Select[T any](ctx context.Context, q Querier, b sq.Sqlizer) ([]T, error) {
	sqlText, args, err := b.ToSql()
	if err != nil {
		return nil, fmt.Errorf("build sql: %w", err)
	}
	rows, err := q.Query(ctx, sqlText, args...)
	if err != nil {
		return nil, MapError(err)
	}
	v, err := pgx.CollectRows(rows, rowScanner[T]())
	if err != nil {
		return nil, MapError(err)
	}
	return v, nil
}

// Scalar runs a squirrel query returning one value.
func Scalar[T any](ctx context.Context, q Querier, b sq.Sqlizer) (T, error) {
	var v T
	sqlText, args, err := b.ToSql()
	if err != nil {
		return v, fmt.Errorf("build sql: %w", err)
	}
	if err := q.QueryRow(ctx, sqlText, args...).Scan(&v); err != nil {
		return v, MapError(err)
	}
	return v, nil
}

// Exec runs a squirrel statement and returns the number of rows it touched.
func Exec(ctx context.Context, q Querier, b sq.Sqlizer) (int64, error) {
	sqlText, args, err := b.ToSql()
	if err != nil {
		return 0, fmt.Errorf("build sql: %w", err)
	}
	tag, err := q.Exec(ctx, sqlText, args...)
	if err != nil {
		return 0, MapError(err)
	}
	return tag.RowsAffected(), nil
}

// IsNoRows reports whether err means that a query found nothing.
func IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// WithDatabase returns url with its database name replaced by name.
func WithDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// DatabaseName returns the database named by url.
func DatabaseName(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(u.Path, "/"), nil
}
