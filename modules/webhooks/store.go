package webhooks

import (
	"context"
	"fmt"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/platform/database"
)

type endpointRow struct {
	ID                      int64      `db:"id"`
	OrganizationID          int64      `db:"organization_id"`
	URL                     string     `db:"url"`
	Events                  []string   `db:"events"`
	Description             *string    `db:"description"`
	Enabled                 bool       `db:"enabled"`
	DisabledReason          *string    `db:"disabled_reason"`
	Secret                  []byte     `db:"secret"`
	PreviousSecret          []byte     `db:"previous_secret"`
	PreviousSecretExpiresAt *time.Time `db:"previous_secret_expires_at"`
	FailingSince            *time.Time `db:"failing_since"`
	CreatedAt               time.Time  `db:"created_at"`
	UpdatedAt               time.Time  `db:"updated_at"`
}

func (r endpointRow) endpoint() Endpoint {
	return Endpoint{ID: r.ID, OrganizationID: r.OrganizationID, URL: r.URL, Events: r.Events, Description: r.Description,
		Enabled: r.Enabled, DisabledReason: r.DisabledReason, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

var endpointCols = []string{"id", "organization_id", "url", "events", "description", "enabled", "disabled_reason",
	"secret", "previous_secret", "previous_secret_expires_at", "failing_since", "created_at", "updated_at"}

var endpointReturning = "RETURNING " + strings.Join(endpointCols, ", ")

type deliveryRow struct {
	ID             int64      `db:"id"`
	OrganizationID int64      `db:"organization_id"`
	EndpointID     int64      `db:"endpoint_id"`
	EventID        int64      `db:"event_id"`
	EventType      string     `db:"event_type"`
	Status         string     `db:"status"`
	Attempts       int        `db:"attempts"`
	LastAttemptAt  *time.Time `db:"last_attempt_at"`
	NextAttemptAt  *time.Time `db:"next_attempt_at"`
	ResponseStatus *int       `db:"response_status"`
	DurationMS     *int       `db:"duration_ms"`
	Error          *string    `db:"error"`
	ResponseBody   []byte     `db:"response_body"`
	CreatedAt      time.Time  `db:"created_at"`
	Generation     int        `db:"generation"`
}

func (r deliveryRow) delivery() Delivery {
	return Delivery{ID: r.ID, EndpointID: r.EndpointID, EventID: r.EventID, EventType: r.EventType, Status: r.Status,
		Attempts: r.Attempts, LastAttemptAt: r.LastAttemptAt, NextAttemptAt: r.NextAttemptAt, ResponseStatus: r.ResponseStatus,
		DurationMS: r.DurationMS, Error: r.Error, ResponseBody: r.ResponseBody, CreatedAt: r.CreatedAt}
}

var deliveryCols = []string{"id", "organization_id", "endpoint_id", "event_id", "event_type", "status", "attempts",
	"last_attempt_at", "next_attempt_at", "response_status", "duration_ms", "error", "response_body", "created_at", "generation"}

var deliveryReturning = "RETURNING " + strings.Join(deliveryCols, ", ")

// store holds the webhook tables. Every method filters by the organization it is given.
type store struct{ db *database.DB }

// lockEndpoints serialises the endpoint creations of an organization for the rest of the
// transaction, so that two concurrent creations cannot both pass the limit.
func (s store) lockEndpoints(ctx context.Context, orgID int64) error {
	_, err := s.db.Q(ctx).Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('webhook_endpoints:' || $1::bigint, 0))`, orgID)
	return database.MapError(err)
}

func (s store) countEndpoints(ctx context.Context, orgID int64) (int, error) {
	return database.Scalar[int](ctx, s.db.Q(ctx), database.SQL.Select("count(*)").From("webhook_endpoints").
		Where(sq.Eq{"organization_id": orgID}))
}

type newEndpoint struct {
	URL         string
	Events      []string
	Description *string
	Enabled     bool
	Secret      []byte
}

func (s store) insert(ctx context.Context, orgID int64, e newEndpoint) (endpointRow, error) {
	var reason *string
	if !e.Enabled {
		r := DisabledByUser
		reason = &r
	}
	q := database.SQL.Insert("webhook_endpoints").
		Columns("organization_id", "url", "events", "description", "enabled", "disabled_reason", "secret").
		Values(orgID, e.URL, e.Events, e.Description, e.Enabled, reason, e.Secret).Suffix(endpointReturning)
	r, err := database.Get[endpointRow](ctx, s.db.Q(ctx), q)
	if err != nil {
		return r, fmt.Errorf("insert webhook endpoint: %w", err)
	}
	if err := s.insertSlots(ctx, orgID, r.ID); err != nil {
		return r, err
	}
	return r, nil
}

// insertSlots gives an endpoint its five in-flight slots (see claimSlot).
func (s store) insertSlots(ctx context.Context, orgID, endpointID int64) error {
	_, err := s.db.Q(ctx).Exec(ctx, `INSERT INTO webhook_endpoint_slots (organization_id, endpoint_id, slot)
		SELECT $1, $2, n FROM generate_series(1, $3::int) AS n ON CONFLICT DO NOTHING`, orgID, endpointID, MaxInFlight)
	if err != nil {
		return fmt.Errorf("insert webhook slots: %w", database.MapError(err))
	}
	return nil
}

func (s store) get(ctx context.Context, orgID, id int64, lock bool) (endpointRow, error) {
	q := database.SQL.Select(endpointCols...).From("webhook_endpoints").Where(sq.Eq{"organization_id": orgID, "id": id})
	if lock {
		q = q.Suffix("FOR UPDATE")
	}
	r, err := database.Get[endpointRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, ErrEndpointNotFound
	}
	if err != nil {
		return r, fmt.Errorf("get webhook endpoint: %w", err)
	}
	return r, nil
}

func (s store) update(ctx context.Context, orgID, id int64, set map[string]any) (endpointRow, error) {
	q := database.SQL.Update("webhook_endpoints").SetMap(set).Set("updated_at", sq.Expr("clock_timestamp()")).
		Where(sq.Eq{"organization_id": orgID, "id": id}).Suffix(endpointReturning)
	r, err := database.Get[endpointRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, ErrEndpointNotFound
	}
	if err != nil {
		return r, fmt.Errorf("update webhook endpoint: %w", err)
	}
	return r, nil
}

func (s store) delete(ctx context.Context, orgID, id int64) error {
	n, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("webhook_endpoints").Where(sq.Eq{"organization_id": orgID, "id": id}))
	if err != nil {
		return fmt.Errorf("delete webhook endpoint: %w", err)
	}
	if n == 0 {
		return ErrEndpointNotFound
	}
	return nil
}

var endpointOrder = database.Order{Key: "webhooks:created_at:desc", Desc: true,
	Cols: []database.KeyCol{{Expr: "created_at", Type: "timestamptz"}, {Expr: "id", Type: "bigint"}}}

func (s store) list(ctx context.Context, orgID int64, w database.Window) (database.Result[endpointRow], error) {
	where := sq.Eq{"organization_id": orgID}
	res, err := database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select(endpointCols...).From("webhook_endpoints").Where(where),
		database.SQL.Select("count(*)").From("webhook_endpoints").Where(where),
		endpointOrder, w.Unfiltered(), func(r endpointRow) []string { return []string{database.TimeKey(r.CreatedAt), database.IDKey(r.ID)} })
	if err != nil {
		return res, fmt.Errorf("webhook endpoints: %w", err)
	}
	return res, nil
}

var deliveryOrder = database.Order{Key: "webhook_deliveries:created_at:desc", Desc: true,
	Cols: []database.KeyCol{{Expr: "created_at", Type: "timestamptz"}, {Expr: "id", Type: "bigint"}}}

func (s store) deliveries(ctx context.Context, orgID, endpointID int64, w database.Window) (database.Result[deliveryRow], error) {
	where := sq.Eq{"organization_id": orgID, "endpoint_id": endpointID}
	res, err := database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select(deliveryCols...).From("webhook_deliveries").Where(where),
		database.SQL.Select("count(*)").From("webhook_deliveries").Where(where),
		deliveryOrder, w.Unfiltered(), func(r deliveryRow) []string { return []string{database.TimeKey(r.CreatedAt), database.IDKey(r.ID)} })
	if err != nil {
		return res, fmt.Errorf("webhook deliveries: %w", err)
	}
	return res, nil
}

func (s store) delivery(ctx context.Context, orgID, endpointID, id int64, lock bool) (deliveryRow, error) {
	q := database.SQL.Select(deliveryCols...).From("webhook_deliveries").
		Where(sq.Eq{"organization_id": orgID, "endpoint_id": endpointID, "id": id})
	if lock {
		q = q.Suffix("FOR UPDATE")
	}
	r, err := database.Get[deliveryRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, ErrDeliveryNotFound
	}
	if err != nil {
		return r, fmt.Errorf("get webhook delivery: %w", err)
	}
	return r, nil
}

// claimSlot leases one of the endpoint's free slots for lease and returns it; ok is false
// when all five are taken (by this process or another). The slot rows are locked only for
// the statement (SKIP LOCKED: concurrent claimers take different slots); the lease itself is
// the timestamp, which runs out should the holder die.
func (s store) claimSlot(ctx context.Context, orgID, endpointID int64, lease time.Duration) (slot int16, ok bool, err error) {
	err = s.db.Q(ctx).QueryRow(ctx, `UPDATE webhook_endpoint_slots SET leased_until = clock_timestamp() + $3 * interval '1 millisecond'
		WHERE (organization_id, endpoint_id, slot) = (
			SELECT organization_id, endpoint_id, slot FROM webhook_endpoint_slots
			WHERE organization_id = $1 AND endpoint_id = $2 AND leased_until < clock_timestamp()
			ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING slot`, orgID, endpointID, lease.Milliseconds()).Scan(&slot)
	if database.IsNoRows(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("claim webhook slot: %w", database.MapError(err))
	}
	return slot, true, nil
}

func (s store) releaseSlot(ctx context.Context, orgID, endpointID int64, slot int16) error {
	_, err := s.db.Q(ctx).Exec(ctx, `UPDATE webhook_endpoint_slots SET leased_until = '-infinity'
		WHERE organization_id = $1 AND endpoint_id = $2 AND slot = $3`, orgID, endpointID, slot)
	if err != nil {
		return fmt.Errorf("release webhook slot: %w", database.MapError(err))
	}
	return nil
}

// subscription is an enabled endpoint and what it subscribes to.
type subscription struct {
	ID     int64    `db:"id"`
	Events []string `db:"events"`
}

func (s store) subscriptions(ctx context.Context, orgID int64) ([]subscription, error) {
	out, err := database.Select[subscription](ctx, s.db.Q(ctx), database.SQL.Select("id", "events").From("webhook_endpoints").
		Where(sq.Eq{"organization_id": orgID, "enabled": true}).OrderBy("id"))
	if err != nil {
		return nil, fmt.Errorf("webhook subscriptions: %w", err)
	}
	return out, nil
}

// pendingCount counts the organization's deliveries still to make, up to limit.
func (s store) pendingCount(ctx context.Context, orgID int64, limit int) (int, error) {
	var n int
	err := s.db.Q(ctx).QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries
		WHERE organization_id = $1 AND status = 'pending' LIMIT $2) AS p`, orgID, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pending webhook deliveries: %w", database.MapError(err))
	}
	return n, nil
}

// newDelivery is one event to send to one endpoint.
type newDelivery struct {
	EndpointID int64
	EventID    int64
	EventType  string
}

func (s store) insertDeliveries(ctx context.Context, orgID int64, ds []newDelivery, due time.Time) ([]deliveryRow, error) {
	q := database.SQL.Insert("webhook_deliveries").Columns("organization_id", "endpoint_id", "event_id", "event_type", "next_attempt_at")
	for _, d := range ds {
		q = q.Values(orgID, d.EndpointID, d.EventID, d.EventType, due)
	}
	out, err := database.Select[deliveryRow](ctx, s.db.Q(ctx), q.Suffix(deliveryReturning))
	if err != nil {
		return nil, fmt.Errorf("insert webhook deliveries: %w", err)
	}
	return out, nil
}

// claimDelivery marks a pending delivery of this generation as being attempted, until lease
// runs out; false when it is done, superseded by a newer generation, or being attempted.
func (s store) claimDelivery(ctx context.Context, orgID, id int64, generation int, lease time.Duration) (bool, error) {
	tag, err := s.db.Q(ctx).Exec(ctx, `UPDATE webhook_deliveries SET in_flight_until = clock_timestamp() + $4 * interval '1 millisecond'
		WHERE organization_id = $1 AND id = $2 AND generation = $3 AND status = 'pending'
		  AND (in_flight_until IS NULL OR in_flight_until < clock_timestamp())`, orgID, id, generation, lease.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("claim webhook delivery: %w", database.MapError(err))
	}
	return tag.RowsAffected() == 1, nil
}

// attemptRecord is what an attempt leaves on its delivery.
type attemptRecord struct {
	At             time.Time
	Status         string
	NextAttemptAt  *time.Time
	ResponseStatus *int
	DurationMS     int
	Error          *string
	ResponseBody   []byte
}

func (s store) recordAttempt(ctx context.Context, orgID, id int64, a attemptRecord) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("webhook_deliveries").
		Set("attempts", sq.Expr("attempts + 1")).Set("last_attempt_at", a.At).Set("status", a.Status).
		Set("next_attempt_at", a.NextAttemptAt).Set("response_status", a.ResponseStatus).Set("duration_ms", a.DurationMS).
		Set("error", a.Error).Set("response_body", a.ResponseBody).Set("in_flight_until", nil).
		Where(sq.Eq{"organization_id": orgID, "id": id}))
	if err != nil {
		return fmt.Errorf("record webhook attempt: %w", err)
	}
	return nil
}

// finish ends a delivery without an attempt (its endpoint is disabled or its event gone).
func (s store) finish(ctx context.Context, orgID, id int64, status string) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("webhook_deliveries").
		Set("status", status).Set("next_attempt_at", nil).Set("in_flight_until", nil).
		Where(sq.Eq{"organization_id": orgID, "id": id}))
	if err != nil {
		return fmt.Errorf("finish webhook delivery: %w", err)
	}
	return nil
}

// failPending fails every pending delivery of an endpoint (it has been disabled).
func (s store) failPending(ctx context.Context, orgID, endpointID int64) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("webhook_deliveries").
		Set("status", StatusFailed).Set("next_attempt_at", nil).
		Where(sq.Eq{"organization_id": orgID, "endpoint_id": endpointID, "status": StatusPending}))
	if err != nil {
		return fmt.Errorf("fail pending webhook deliveries: %w", err)
	}
	return nil
}

// restart makes a delivery pending again under a new generation, due at due.
func (s store) restart(ctx context.Context, orgID, id int64, due time.Time) (deliveryRow, error) {
	r, err := database.Get[deliveryRow](ctx, s.db.Q(ctx), database.SQL.Update("webhook_deliveries").
		Set("status", StatusPending).Set("generation", sq.Expr("generation + 1")).Set("next_attempt_at", due).
		Where(sq.Eq{"organization_id": orgID, "id": id}).Suffix(deliveryReturning))
	if err != nil {
		return r, fmt.Errorf("restart webhook delivery: %w", err)
	}
	return r, nil
}

// noteFailure starts the endpoint's failure clock unless it runs already, and returns when it
// started.
func (s store) noteFailure(ctx context.Context, orgID, endpointID int64, now time.Time) (time.Time, error) {
	var since time.Time
	err := s.db.Q(ctx).QueryRow(ctx, `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $3)
		WHERE organization_id = $1 AND id = $2 RETURNING failing_since`, orgID, endpointID, now).Scan(&since)
	if err != nil {
		return since, fmt.Errorf("webhook failure clock: %w", database.MapError(err))
	}
	return since, nil
}

// noteSuccess stops the endpoint's failure clock.
func (s store) noteSuccess(ctx context.Context, orgID, endpointID int64) error {
	_, err := s.db.Q(ctx).Exec(ctx, `UPDATE webhook_endpoints SET failing_since = NULL
		WHERE organization_id = $1 AND id = $2 AND failing_since IS NOT NULL`, orgID, endpointID)
	if err != nil {
		return fmt.Errorf("webhook failure clock: %w", database.MapError(err))
	}
	return nil
}

func (s store) deliveryByID(ctx context.Context, orgID, id int64, lock bool) (deliveryRow, error) {
	q := database.SQL.Select(deliveryCols...).From("webhook_deliveries").Where(sq.Eq{"organization_id": orgID, "id": id})
	if lock {
		q = q.Suffix("FOR UPDATE")
	}
	r, err := database.Get[deliveryRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, ErrDeliveryNotFound
	}
	if err != nil {
		return r, fmt.Errorf("get webhook delivery: %w", err)
	}
	return r, nil
}

// purge removes up to batch finished deliveries created before cutoff, of every organization,
// and returns how many it removed.
func (s store) purge(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	var n int64
	if err := s.db.Pool.QueryRow(ctx, `SELECT webhook_deliveries_purge($1, $2)`, cutoff, batch).Scan(&n); err != nil {
		return 0, fmt.Errorf("purge webhook deliveries: %w", database.MapError(err))
	}
	return n, nil
}

// pendingOfEndpoint counts the endpoint's deliveries still to make, up to limit.
func (s store) pendingOfEndpoint(ctx context.Context, orgID, endpointID int64, limit int) (int, error) {
	var n int
	err := s.db.Q(ctx).QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries
		WHERE organization_id = $1 AND endpoint_id = $2 AND status = 'pending' LIMIT $3) AS p`, orgID, endpointID, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pending webhook deliveries: %w", database.MapError(err))
	}
	return n, nil
}
