package timeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/database"
)

type activityRow struct {
	ID             int64           `db:"id"`
	OrganizationID int64           `db:"organization_id"`
	DealID         int64           `db:"deal_id"`
	AuthorID       *int64          `db:"author_id"`
	Type           string          `db:"type"`
	Payload        json.RawMessage `db:"payload"`
	CreatedAt      time.Time       `db:"created_at"`
	EditedAt       *time.Time      `db:"edited_at"`
}

func (r activityRow) activity() timelineapi.Activity {
	return timelineapi.Activity{ID: r.ID, OrganizationID: r.OrganizationID, DealID: r.DealID, AuthorID: r.AuthorID,
		Type: r.Type, Payload: r.Payload, CreatedAt: r.CreatedAt, EditedAt: r.EditedAt}
}

var activityCols = []string{"id", "organization_id", "deal_id", "author_id", "type", "payload", "created_at", "edited_at"}

type store struct{ db *database.DB }

func (s store) insert(ctx context.Context, orgID, dealID int64, authorID *int64, typ string, payload json.RawMessage) (activityRow, error) {
	q := database.SQL.Insert("activities").Columns("organization_id", "deal_id", "author_id", "type", "payload").
		Values(orgID, dealID, authorID, typ, string(payload)).Suffix("RETURNING " + strings.Join(activityCols, ", "))
	r, err := database.Get[activityRow](ctx, s.db.Q(ctx), q)
	if err != nil {
		return r, fmt.Errorf("insert activity: %w", err)
	}
	return r, nil
}

// listOrder is newest first, served by the index activities (organization_id, deal_id, created_at, id).
var listOrder = database.Order{Key: "activities:created_at:desc", Desc: true,
	Cols: []database.KeyCol{{Expr: "created_at", Type: "timestamptz"}, {Expr: "id", Type: "bigint"}}}

func (s store) list(ctx context.Context, orgID, dealID int64, w database.Window) (database.Result[activityRow], error) {
	where := sq.Eq{"organization_id": orgID, "deal_id": dealID}
	res, err := database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select(activityCols...).From("activities").Where(where),
		database.SQL.Select("count(*)").From("activities").Where(where),
		listOrder, w.Unfiltered(), func(r activityRow) []string { return []string{database.TimeKey(r.CreatedAt), database.IDKey(r.ID)} })
	if err != nil {
		return res, fmt.Errorf("activities: %w", err)
	}
	return res, nil
}

// lock reads the activity of the deal and locks it until the transaction ends, so that the
// edits and removals of one comment run one after the other; an activity removed meanwhile
// is not found.
func (s store) lock(ctx context.Context, orgID, dealID, id int64) (activityRow, error) {
	q := database.SQL.Select(activityCols...).From("activities").
		Where(sq.Eq{"organization_id": orgID, "deal_id": dealID, "id": id}).Suffix("FOR UPDATE")
	r, err := database.Get[activityRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, timelineapi.ErrActivityNotFound
	}
	if err != nil {
		return r, fmt.Errorf("lock activity: %w", err)
	}
	return r, nil
}

// setPayload replaces the payload of an activity and marks it edited now (the time of the
// write, not of the transaction start: the editor may have waited for the row lock).
func (s store) setPayload(ctx context.Context, orgID, id int64, payload json.RawMessage) (activityRow, error) {
	q := database.SQL.Update("activities").Set("payload", string(payload)).Set("edited_at", sq.Expr("clock_timestamp()")).
		Where(sq.Eq{"organization_id": orgID, "id": id}).Suffix("RETURNING " + strings.Join(activityCols, ", "))
	r, err := database.Get[activityRow](ctx, s.db.Q(ctx), q)
	if err != nil {
		return r, fmt.Errorf("update activity: %w", err)
	}
	return r, nil
}

func (s store) delete(ctx context.Context, orgID, id int64) error {
	if _, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("activities").Where(sq.Eq{"organization_id": orgID, "id": id})); err != nil {
		return fmt.Errorf("delete activity: %w", err)
	}
	return nil
}
