package contacts

import (
	"context"
	"fmt"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/platform/database"
)

// keptTotal answers the total of a contact list from the kept counts (contact_counts, kept
// by triggers in every write's transaction) when the filter narrows at most by owner; ok is
// false for a search or a tag, which the list counts instead.
func (s store) keptTotal(ctx context.Context, orgID int64, f ListFilter) (total int64, ok bool, err error) {
	if f.Search != "" || len(f.Tags) > 0 {
		return 0, false, nil
	}
	where := sq.Eq{"organization_id": orgID}
	if f.OwnerID != nil {
		where["owner_id"] = *f.OwnerID
	}
	n, err := database.Scalar[int64](ctx, s.db.Q(ctx), database.SQL.Select("coalesce(sum(n), 0)::bigint").From("contact_counts").Where(where))
	if err != nil {
		return 0, false, fmt.Errorf("kept contact counts: %w", err)
	}
	return n, true, nil
}
