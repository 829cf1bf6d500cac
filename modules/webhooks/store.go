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
}

func (r deliveryRow) delivery() Delivery {
	return Delivery{ID: r.ID, EndpointID: r.EndpointID, EventID: r.EventID, EventType: r.EventType, Status: r.Status,
		Attempts: r.Attempts, LastAttemptAt: r.LastAttemptAt, NextAttemptAt: r.NextAttemptAt, ResponseStatus: r.ResponseStatus,
		DurationMS: r.DurationMS, Error: r.Error, ResponseBody: r.ResponseBody, CreatedAt: r.CreatedAt}
}

var deliveryCols = []string{"id", "organization_id", "endpoint_id", "event_id", "event_type", "status", "attempts",
	"last_attempt_at", "next_attempt_at", "response_status", "duration_ms", "error", "response_body", "created_at"}

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
	return r, nil
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
		endpointOrder, w, func(r endpointRow) []string { return []string{database.TimeKey(r.CreatedAt), database.IDKey(r.ID)} })
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
		deliveryOrder, w, func(r deliveryRow) []string { return []string{database.TimeKey(r.CreatedAt), database.IDKey(r.ID)} })
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
