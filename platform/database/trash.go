package database

import (
	"context"
	"errors"
)

// ErrIncludeTrashedOutsideTx is returned by IncludeTrashed outside a transaction: the
// setting is transaction-local, so it would hold for nothing.
var ErrIncludeTrashedOutsideTx = errors.New("database: IncludeTrashed must run inside a transaction")

// IncludeTrashed makes the rest of the transaction carried by ctx see the rows of the tables
// with a trash (contacts, deals, tasks) that are in the trash. Every other statement sees
// live rows only: a restrictive row-level security policy on each of those tables hides a
// row whose deleted_at is set unless the transaction-local setting app.include_trashed is
// on. Only the code that moves rows to the trash, lists, restores or purges them, or must
// reach every row whatever its state (a member's removal, an organization's erasure) sets
// it. An UPDATE ... RETURNING of a row it moves to the trash needs it too, since the row it
// returns must pass the SELECT policies.
func IncludeTrashed(ctx context.Context) error {
	t, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return ErrIncludeTrashedOutsideTx
	}
	if _, err := t.tx.Exec(ctx, "SELECT set_config('app.include_trashed', 'on', true)"); err != nil {
		return MapError(err)
	}
	return nil
}

// WithTrashed runs fn with the transaction carried by ctx seeing the rows in the trash, then
// sets the transaction back to what it saw before: for a check that must count every row
// (a pipeline that still holds deals, in the trash or not) inside a transaction that goes on
// working on live rows only.
func WithTrashed(ctx context.Context, fn func() error) error {
	t, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return ErrIncludeTrashedOutsideTx
	}
	var prev string
	if err := t.tx.QueryRow(ctx, "SELECT coalesce(current_setting('app.include_trashed', true), '')").Scan(&prev); err != nil {
		return MapError(err)
	}
	if err := IncludeTrashed(ctx); err != nil {
		return err
	}
	ferr := fn()
	if _, err := t.tx.Exec(ctx, "SELECT set_config('app.include_trashed', $1, true)", prev); err != nil && ferr == nil {
		return MapError(err)
	}
	return ferr
}
