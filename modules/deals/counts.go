package deals

import (
	"context"
	"fmt"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/platform/database"
)

// keptTotal answers the total of a deal list from the kept counts (deal_counts and, for the
// unfiltered list, deal_counts_org, kept by triggers in every write's transaction) when the
// filter narrows only by status, stage, pipeline and owner; ok is false for any other filter,
// which the list counts instead.
func (s store) keptTotal(ctx context.Context, orgID int64, f ListFilter) (total int64, ok bool, err error) {
	if f.MinAmount != nil || f.MaxAmount != nil || f.ContactID != nil || f.ExpectedCloseAfter != nil ||
		f.ExpectedCloseBefore != nil || f.Search != "" || f.Rotten {
		return 0, false, nil
	}
	if len(f.Statuses) == 0 && len(f.Stages) == 0 && f.OwnerID == nil && f.PipelineID == nil {
		// The unfiltered list: the organization's total, in at most eight rows
		// (deal_counts_org), rather than every combination's.
		n, err := database.Scalar[int64](ctx, s.db.Q(ctx), database.SQL.Select("coalesce(sum(n), 0)::bigint").
			From("deal_counts_org").Where(sq.Eq{"organization_id": orgID}))
		if err != nil {
			return 0, false, fmt.Errorf("kept deal total: %w", err)
		}
		return n, true, nil
	}
	where := sq.And{sq.Eq{"organization_id": orgID}}
	if len(f.Statuses) > 0 {
		where = append(where, sq.Eq{"status": f.Statuses})
	}
	if len(f.Stages) > 0 {
		where = append(where, sq.Eq{"stage": f.Stages})
	}
	if f.OwnerID != nil {
		where = append(where, sq.Eq{"owner_id": *f.OwnerID})
	}
	if f.PipelineID != nil {
		where = append(where, sq.Eq{"pipeline_id": *f.PipelineID})
	}
	n, err := database.Scalar[int64](ctx, s.db.Q(ctx), database.SQL.Select("coalesce(sum(n), 0)::bigint").From("deal_counts").Where(where))
	if err != nil {
		return 0, false, fmt.Errorf("kept deal counts: %w", err)
	}
	return n, true, nil
}
