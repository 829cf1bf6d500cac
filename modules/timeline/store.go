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
}

func (r activityRow) activity() timelineapi.Activity {
	return timelineapi.Activity{ID: r.ID, OrganizationID: r.OrganizationID, DealID: r.DealID, AuthorID: r.AuthorID,
		Type: r.Type, Payload: r.Payload, CreatedAt: r.CreatedAt}
}

var activityCols = []string{"id", "organization_id", "deal_id", "author_id", "type", "payload", "created_at"}

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
		listOrder, w, func(r activityRow) []string { return []string{database.TimeKey(r.CreatedAt), database.IDKey(r.ID)} })
	if err != nil {
		return res, fmt.Errorf("activities: %w", err)
	}
	return res, nil
}
