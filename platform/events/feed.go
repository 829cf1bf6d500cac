package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/platform/database"
)

// Event is an event as the feed and webhook deliveries render it.
type Event struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	OccurredAt     time.Time       `json:"occurred_at"`
	OrganizationID int64           `json:"organization_id"`
	Actor          Actor           `json:"actor"`
	Data           json.RawMessage `json:"data"`

	position int64
}

// Position is the event's place in the feed (not rendered; cursors carry it).
func (e Event) Position() int64 { return e.position }

// Query selects a page of one organization's feed.
type Query struct {
	OrgID int64
	// After is the position of the last event the reader has seen (0: from the oldest kept).
	After int64
	// Types keeps only these types; empty keeps every type.
	Types []string
	// Managers includes the events only owners and admins read.
	Managers bool
	Limit    int
}

const eventColumns = `id, position, type, occurred_at, organization_id, actor_type, actor_id, data`

func scanEvent(r pgx.CollectableRow) (Event, error) {
	var e Event
	var id int64
	var pos *int64
	var data string
	err := r.Scan(&id, &pos, &e.Type, &e.OccurredAt, &e.OrganizationID, &e.Actor.Type, &e.Actor.ID, &data)
	// Whole seconds, as every timestamp of the API renders.
	e.ID, e.Data, e.OccurredAt = FormatID(id), json.RawMessage(data), e.OccurredAt.UTC().Truncate(time.Second)
	if pos != nil {
		e.position = *pos
	}
	return e, err
}

// Page returns the organization's sequenced events after q.After, oldest first, up to
// q.Limit+1 of them (the extra one tells the caller there are more). It is one range scan of
// the organization's positions.
func (o *Outbox) Page(ctx context.Context, q Query) ([]Event, error) {
	b := database.SQL.Select(eventColumns).From("events").
		Where("organization_id = ? AND position > ? AND position IS NOT NULL", q.OrgID, q.After).
		OrderBy("position").Limit(uint64(q.Limit) + 1)
	if q.Managers {
		b = b.Where("audience <= ?", int16(Managers))
	} else {
		b = b.Where("audience = ?", int16(Everyone))
	}
	if len(q.Types) > 0 {
		b = b.Where("type = ANY(?)", q.Types)
	}
	sqlText, args, err := b.ToSql()
	if err != nil {
		return nil, fmt.Errorf("events: page: %w", err)
	}
	rows, err := o.db.Q(ctx).Query(ctx, sqlText, args...)
	if err != nil {
		return nil, database.MapError(fmt.Errorf("events: page: %w", err))
	}
	out, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, database.MapError(fmt.Errorf("events: page: %w", err))
	}
	return out, nil
}

// Head returns the position of the organization's newest sequenced event (0 when it has none):
// a reader starting there sees every event sequenced from now on.
func (o *Outbox) Head(ctx context.Context, orgID int64) (int64, error) {
	var pos *int64
	err := o.db.Q(ctx).QueryRow(ctx,
		`SELECT max(position) FROM events WHERE organization_id = $1 AND position IS NOT NULL`, orgID).Scan(&pos)
	if err != nil {
		return 0, database.MapError(fmt.Errorf("events: head: %w", err))
	}
	if pos == nil {
		return 0, nil
	}
	return *pos, nil
}

// Body returns the event as a webhook delivery sends it: the JSON the feed renders.
// ctx must be scoped to the organization.
func (o *Outbox) Body(ctx context.Context, orgID, id int64) ([]byte, error) {
	rows, err := o.db.Q(ctx).Query(ctx, `SELECT `+eventColumns+` FROM events WHERE organization_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return nil, database.MapError(fmt.Errorf("events: load: %w", err))
	}
	e, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	if err != nil {
		return nil, database.MapError(fmt.Errorf("events: load: %w", err))
	}
	return json.Marshal(e)
}
