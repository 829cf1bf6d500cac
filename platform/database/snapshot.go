package database

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"
)

// ErrNestedSnapshot is returned by WithinSnapshot called inside another transaction, whose
// isolation level cannot be changed any more.
var ErrNestedSnapshot = errors.New("database: a snapshot cannot be taken inside another transaction")

// WithinSnapshot runs fn in a READ ONLY REPEATABLE READ transaction carried by the context
// it is given: every statement of fn reads the one snapshot taken by its first statement, so
// that a long read (an export) sees the data as it was at one instant, whatever commits
// meanwhile, and writes nothing. When ctx has a deadline, the statements of the transaction
// may run until it, whatever the pool's statement timeout (a long read outlives a request's
// deadline); without one, the pool's timeout holds. The tenant scope of ctx applies as in
// WithinTx.
func (db *DB) WithinSnapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	if InTx(ctx) {
		return ErrNestedSnapshot
	}
	extra := ""
	if d, ok := ctx.Deadline(); ok {
		// A second more than the context: the context's end, not the server's, stops it.
		ms := max(time.Until(d).Milliseconds(), 0) + 1000
		extra = "SET LOCAL statement_timeout = " + strconv.FormatInt(ms, 10)
	}
	return db.runTx(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", extra, fn)
}

// Each runs a squirrel query in the transaction of ctx (WithinSnapshot's, for a consistent
// read) and calls fn with each row, scanned into a T by column name, as the rows arrive: a
// result of any size is read with one batch of rows in flight. The query is one cursor,
// fetched in batches growing from 50 to 1,000 rows (the first rows leave at once):
// PostgreSQL plans a cursor for its first rows (cursor_tuple_fraction), so a large ordered
// result streams from an index in its order instead of waiting for a sort of every row. An
// error of fn stops the query and is returned as is.
func Each[T any](ctx context.Context, q Querier, b sq.Sqlizer, fn func(T) error) error {
	if !InTx(ctx) {
		return errors.New("database: Each reads through a cursor, which needs a transaction")
	}
	sqlText, args, err := b.ToSql()
	if err != nil {
		return fmt.Errorf("build sql: %w", err)
	}
	name := "each_" + strconv.FormatInt(cursorSeq.Add(1), 10)
	if _, err := q.Exec(ctx, "DECLARE "+name+" NO SCROLL CURSOR FOR "+sqlText, args...); err != nil {
		return MapError(err)
	}
	for batch := 50; ; batch = min(2*batch, 1000) {
		n, err := fetch(ctx, q, "FETCH FORWARD "+strconv.Itoa(batch)+" FROM "+name, fn)
		if err != nil {
			return err
		}
		if n < batch {
			break
		}
	}
	if _, err := q.Exec(ctx, "CLOSE "+name); err != nil {
		return MapError(err)
	}
	return nil
}

// cursorSeq names the cursors of Each apart.
var cursorSeq atomic.Int64

// fetch runs one FETCH and calls fn with each row; it returns how many rows came.
func fetch[T any](ctx context.Context, q Querier, sql string, fn func(T) error) (int, error) {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return 0, MapError(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		v, err := pgx.RowToStructByName[T](rows)
		if err != nil {
			return n, MapError(err)
		}
		if err := fn(v); err != nil {
			return n, err
		}
	}
	return n, MapError(rows.Err())
}
