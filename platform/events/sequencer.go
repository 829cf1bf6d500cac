package events

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/platform/database"
)

// batchSize bounds one sequencer transaction.
const batchSize = 1000

// Sequence gives feed positions to every committed event still waiting for one, in batches,
// running the OnSequenced hooks in each batch's transaction, and returns how many it
// sequenced. Replicas may call it at the same time: they take turns on the sequencer's row
// lock, and each event is sequenced (and seen by the hooks) once.
func (o *Outbox) Sequence(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := o.sequenceBatch(ctx)
		total += n
		if err != nil || n < batchSize {
			return total, err
		}
	}
}

func (o *Outbox) sequenceBatch(ctx context.Context) (int, error) {
	o.mu.Lock()
	hooks := append([]func(context.Context, []Sequenced) error(nil), o.hooks...)
	o.mu.Unlock()
	var n int
	err := o.db.WithinTx(ctx, func(ctx context.Context) error {
		rows, err := o.db.Q(ctx).Query(ctx, `SELECT organization_id, id, position, type, audience FROM events_sequence($1)`, batchSize)
		if err != nil {
			return database.MapError(fmt.Errorf("events: sequence: %w", err))
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Sequenced, error) {
			var s Sequenced
			var a int16
			err := r.Scan(&s.OrgID, &s.ID, &s.Position, &s.Type, &a)
			s.Audience = Audience(a)
			return s, err
		})
		if err != nil {
			return database.MapError(fmt.Errorf("events: sequence: %w", err))
		}
		n = len(batch)
		if n == 0 {
			return nil
		}
		for _, h := range hooks {
			if err := h(ctx, batch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Purge removes the events that occurred longer than retention ago, of every organization,
// and returns how many it removed.
func (o *Outbox) Purge(ctx context.Context, retention time.Duration) (int64, error) {
	cutoff := o.now().Add(-retention)
	var total int64
	for {
		var n int64
		if err := o.db.Pool.QueryRow(ctx, `SELECT events_purge($1, 10000)`, cutoff).Scan(&n); err != nil {
			return total, database.MapError(fmt.Errorf("events: purge: %w", err))
		}
		total += n
		if n < 10000 {
			return total, nil
		}
	}
}
