package events

import (
	"context"
	"fmt"

	"github.com/mini-crm/crm/platform/database"
)

// recordManyChunk bounds the events one statement of RecordMany inserts.
const recordManyChunk = 5000

// RecordMany writes the events of many changes in the transaction carried by ctx, in the order
// given (their ids, and so their feed positions, follow it), with one statement per few
// thousand events instead of one per event: for writes of many records at once (an import).
// Each event is exactly what Record would write for its change.
func (o *Outbox) RecordMany(ctx context.Context, cs []Change) error {
	if !database.InTx(ctx) {
		return ErrNotInTx
	}
	if compiledOut || len(cs) == 0 {
		return nil
	}
	principal := actorOf(ctx)
	for start := 0; start < len(cs); start += recordManyChunk {
		part := cs[start:min(start+recordManyChunk, len(cs))]
		orgs := make([]int64, len(part))
		types := make([]string, len(part))
		audiences := make([]int16, len(part))
		actorTypes := make([]string, len(part))
		actorIDs := make([]*int64, len(part))
		data := make([]string, len(part))
		for i, c := range part {
			d, err := render(c)
			if err != nil {
				return err
			}
			actor := principal
			if c.Actor != nil {
				actor = *c.Actor
			}
			orgs[i], types[i], audiences[i], actorTypes[i], actorIDs[i], data[i] = c.OrgID, c.Type, int16(c.Audience), actor.Type, actor.ID, string(d)
		}
		_, err := o.db.Q(ctx).Exec(ctx,
			`INSERT INTO events (organization_id, type, audience, actor_type, actor_id, data)
			 SELECT e.organization_id, e.type, e.audience, e.actor_type, e.actor_id, e.data::json
			 FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::text[], $5::bigint[], $6::text[])
			      WITH ORDINALITY AS e(organization_id, type, audience, actor_type, actor_id, data, n)
			 ORDER BY e.n`,
			orgs, types, audiences, actorTypes, actorIDs, data)
		if err != nil {
			return database.MapError(fmt.Errorf("events: record %d events: %w", len(part), err))
		}
	}
	return nil
}
