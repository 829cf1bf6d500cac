package tasks

import (
	"context"
	"fmt"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/platform/database"
)

// keptTotal answers the total of a task list from the kept counts (task_counts, kept by
// triggers in every write's transaction) when the filter narrows at most by assignee and
// done-ness; ok is false for a deal, due dates or overdue, which the list counts instead.
func (s store) keptTotal(ctx context.Context, orgID int64, f ListFilter, d dates) (total int64, ok bool, err error) {
	if f.DealID != nil || d.dueBefore != nil || d.dueAfter != nil || d.overdueBefore != nil {
		return 0, false, nil
	}
	where := sq.Eq{"organization_id": orgID}
	if f.AssigneeID != nil {
		where["assignee_id"] = *f.AssigneeID
	}
	switch {
	case (f.OnlyOpen || (f.IsDone != nil && !*f.IsDone)) && f.IsDone != nil && *f.IsDone:
		return 0, true, nil // open and done: nothing
	case f.OnlyOpen || (f.IsDone != nil && !*f.IsDone):
		where["is_done"] = false
	case f.IsDone != nil:
		where["is_done"] = true
	}
	n, err := database.Scalar[int64](ctx, s.db.Q(ctx), database.SQL.Select("coalesce(sum(n), 0)::bigint").From("task_counts").Where(where))
	if err != nil {
		return 0, false, fmt.Errorf("kept task counts: %w", err)
	}
	return n, true, nil
}
