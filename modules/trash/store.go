package trash

import (
	"context"
	"fmt"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/trash/trashapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/listing"
)

// itemRow is a row of trash_items.
type itemRow struct {
	OrganizationID int64     `db:"organization_id"`
	Object         string    `db:"object"`
	ID             int64     `db:"id"`
	Name           string    `db:"name"`
	DeletedAt      time.Time `db:"deleted_at"`
	DeletedByType  string    `db:"deleted_by_type"`
	DeletedByID    *int64    `db:"deleted_by_id"`
	PurgeAt        time.Time `db:"purge_at"`
}

func (r itemRow) item() Item {
	return Item{Item: trashapi.Item{OrgID: r.OrganizationID, Object: r.Object, ID: r.ID, Name: r.Name, DeletedAt: r.DeletedAt,
		DeletedBy: trashapi.Actor{Type: r.DeletedByType, ID: r.DeletedByID}}, PurgeAt: r.PurgeAt}
}

var itemCols = []string{"organization_id", "object", "id", "name", "deleted_at", "deleted_by_type", "deleted_by_id", "purge_at"}

// store holds the trash_items table. Every method filters by the organization it is given,
// except dueOrganizations, which only finds which organizations have work for the purge.
type store struct{ db *database.DB }

// put writes an item; an item of the same record left over (none should be) is replaced.
func (s store) put(ctx context.Context, it Item) error {
	q := database.SQL.Insert("trash_items").Columns(itemCols...).
		Values(it.OrgID, it.Object, it.ID, it.Name, it.DeletedAt, it.DeletedBy.Type, it.DeletedBy.ID, it.PurgeAt).
		Suffix(`ON CONFLICT (organization_id, object, id) DO UPDATE SET name = EXCLUDED.name, deleted_at = EXCLUDED.deleted_at,
			deleted_by_type = EXCLUDED.deleted_by_type, deleted_by_id = EXCLUDED.deleted_by_id, purge_at = EXCLUDED.purge_at`)
	if _, err := database.Exec(ctx, s.db.Q(ctx), q); err != nil {
		return fmt.Errorf("put trash item: %w", err)
	}
	return nil
}

func (s store) remove(ctx context.Context, orgID int64, object string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	q := database.SQL.Delete("trash_items").Where(sq.Eq{"organization_id": orgID, "object": object, "id": ids})
	if _, err := database.Exec(ctx, s.db.Q(ctx), q); err != nil {
		return fmt.Errorf("remove trash items: %w", err)
	}
	return nil
}

// listOrder is newest first, then by type and id.
var listOrder = database.Order{Key: "trash:deleted_at:desc", Desc: true, Cols: []database.KeyCol{
	{Expr: "deleted_at", Type: "timestamptz"}, {Expr: "object", Type: "text"}, {Expr: "id", Type: "bigint"}}}

func (s store) list(ctx context.Context, orgID int64, object string, w listing.Window) (listing.Result[Item], error) {
	where := sq.Eq{"organization_id": orgID}
	if object != "" {
		where["object"] = object
	}
	res, err := database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select(itemCols...).From("trash_items").Where(where),
		database.SQL.Select("count(*)").From("trash_items").Where(where), listOrder, w,
		func(r itemRow) []string {
			return []string{database.TimeKey(r.DeletedAt), r.Object, database.IDKey(r.ID)}
		})
	if err != nil {
		return listing.Result[Item]{}, fmt.Errorf("trash: %w", err)
	}
	return database.MapResult(res, itemRow.item), nil
}

// dueKey is the position of a due item in the purge's order.
type dueKey struct {
	PurgeAt time.Time `db:"purge_at"`
	Object  string    `db:"object"`
	ID      int64     `db:"id"`
}

// due returns up to limit items of the organization due at cutoff, in the purge's order,
// after the item after (nil: from the first).
func (s store) due(ctx context.Context, orgID int64, cutoff time.Time, after *dueKey, limit uint64) ([]dueKey, error) {
	q := database.SQL.Select("purge_at", "object", "id").From("trash_items").
		Where(sq.Eq{"organization_id": orgID}).Where(sq.LtOrEq{"purge_at": cutoff}).
		OrderBy("purge_at", "object", "id").Limit(limit)
	if after != nil {
		q = q.Where(sq.Expr("(purge_at, object, id) > (?::timestamptz, ?::text, ?::bigint)", after.PurgeAt, after.Object, after.ID))
	}
	r, err := database.Select[dueKey](ctx, s.db.Q(ctx), q)
	if err != nil {
		return nil, fmt.Errorf("due trash items: %w", err)
	}
	return r, nil
}

// dueOrganizations lists the organizations with items due at cutoff, through the module's
// function that reads across organizations.
func (s store) dueOrganizations(ctx context.Context, cutoff time.Time) ([]int64, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT trash_due_organizations($1)`, cutoff)
	if err != nil {
		return nil, fmt.Errorf("trash: due organizations: %w", database.MapError(err))
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, database.MapError(rows.Err())
}
