package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// eventWindow is how far back the seeded events go: within the feed's default retention
// (EVENT_RETENTION, 30 days), with a week to spare so that the retention job of a service
// started in the following days removes none of them.
const eventWindow = 21 * 24 * time.Hour

// insertEventsSQL generates every organization's events in one statement. Event g of an
// organization (0-based) occurred at the (g+½)-th of its equal shares of the window, by one
// of its members, about one of its deals (a well-mixed function of g): a deal.created (one
// in ten) or a deal.updated that moved the deal to its stage from the previous one, with the
// deal rendered as its GET renders it. The events are already sequenced: ids and positions
// are 1, 2, … in the order of their times across all organizations, as the sequencer would
// have given them, and all are for everyone to read.
const insertEventsSQL = `
INSERT INTO events (organization_id, id, position, type, audience, occurred_at, actor_type, actor_id, data)
SELECT e.org, e.n, e.n, CASE WHEN e.g % 10 = 0 THEN 'deal.created' ELSE 'deal.updated' END, 0, e.at, 'user', e.actor, (
	'{"object":{"object":"deal","id":' || d.id || ',"contact_id":' || d.contact_id || ',"owner_id":' || d.owner_id ||
	',"title":' || to_json(d.title)::text || ',"amount":"' || d.amount::text || '","currency":"' || d.currency ||
	'","status":"' || d.status || '","stage":"' || d.stage || '","lost_reason":' || coalesce(to_json(d.lost_reason)::text, 'null') ||
	',"created_at":"' || to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ||
	'","updated_at":"' || to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"}' ||
	CASE WHEN e.g % 10 = 0 THEN '' ELSE
		',"previous_attributes":{"stage":"' || ($8::text[])[1 + (array_position($8::text[], d.stage) + cardinality($8::text[]) - 2) % cardinality($8::text[])] ||
		'","updated_at":"' || to_char((e.at - interval '3 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"}'
	END || '}')::json
FROM (
	SELECT x.*, row_number() OVER (ORDER BY x.at, x.org, x.g) AS n
	FROM (
		SELECT o.org, g, o.first_user + (g * 7919) % o.members AS actor,
			o.deal_base + 1 + (g * 2654435761) % o.deals AS deal_id,
			$7::timestamptz + (g + 0.5)::float8 * ($9::interval / o.events::float8) AS at
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
			AS o(org, events, deal_base, deals, first_user, members)
		CROSS JOIN LATERAL generate_series(0::bigint, o.events - 1) g
	) x
) e
JOIN deals d ON d.organization_id = e.org AND d.id = e.deal_id`

// insertEvents seeds the change feed's events and moves the sequencer and the id sequence
// past them, so that the events the service records next follow them.
func insertEvents(ctx context.Context, pool *pgxpool.Pool, p *plan) (int64, error) {
	var orgs, counts, bases, deals, users, members []int64
	for _, o := range p.orgs {
		if o.events == 0 {
			continue
		}
		orgs, counts, bases = append(orgs, o.id), append(counts, int64(o.events)), append(bases, o.dealBase)
		deals, users, members = append(deals, int64(o.deals)), append(users, o.firstUser), append(members, int64(len(o.roles)))
	}
	from := time.UnixMicro(p.anchor).UTC().Add(-eventWindow)
	var n int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// The window of row_number and the join with the deals: in memory rather than in
		// temporary files.
		if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '256MB'"); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, insertEventsSQL, orgs, counts, bases, deals, users, members,
			from, stages, fmt.Sprintf("%d seconds", int64(eventWindow/time.Second)))
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `UPDATE event_sequencer SET last_position = (SELECT COALESCE(max(position), 0) FROM events)`)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('events', 'id'), COALESCE(max(id), 0) + 1, false) FROM events`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("insert: %w", err)
	}
	return n, nil
}
