package deals

import (
	"context"
	"fmt"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
)

// TypeContactMerged is the activity of a deal moved to another contact by a merge of
// contacts: {"from": <absorbed contact id>, "to": <surviving contact id>}.
const TypeContactMerged = "contact_merged"

// MoveDealsOfContacts implements contactsapi.DealMover. In the merge's transaction it locks
// every deal referencing one of from, in id order (deals in the trash too: they reference the
// absorbed contacts as well, and the contacts are deleted for good), refuses the whole merge
// when the caller is a member and any of them is someone else's, then moves each one as a
// PATCH of contact_id would (updated_at, ETag, a deal.updated event) with a contact_merged
// activity by the caller. Neither the stage history nor the read model changes (a deal's
// contact is none of their facts); DealsMoved drops the organization's reports anyway.
func (s *Service) MoveDealsOfContacts(ctx context.Context, orgID int64, from []int64, to int64) (int64, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return 0, err
	}
	var moved []int64
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		moved = nil // a transaction run again after a deadlock starts over
		if err := s.store.withTrashed(ctx, func(ctx context.Context) error {
			deals, err := s.store.lockOfContacts(ctx, orgID, from)
			if err != nil {
				return err
			}
			for _, cur := range deals {
				if err := ownership.CheckModify(p, cur.OwnerID); err != nil {
					return err
				}
			}
			for _, cur := range deals {
				out, err := s.store.update(ctx, orgID, cur.ID, map[string]any{"contact_id": to})
				if err != nil {
					return err
				}
				if err := s.record(ctx, "deal.updated", out, &cur); err != nil {
					return err
				}
				if _, err := s.timeline.Append(ctx, timelineapi.NewActivity{OrgID: orgID, DealID: cur.ID, AuthorID: &p.UserID,
					Type: TypeContactMerged, Payload: map[string]int64{"from": cur.ContactID, "to": to}}); err != nil {
					return err
				}
				moved = append(moved, cur.ID)
			}
			return nil
		}); err != nil {
			return err
		}
		if s.emitMoved == nil {
			return nil
		}
		return s.emitMoved(ctx, dealsapi.DealsMoved{OrgID: orgID, ContactID: to, DealIDs: moved})
	})
	if err != nil {
		return 0, err
	}
	if len(moved) > 0 {
		s.changed(ctx, orgID)
	}
	return int64(len(moved)), nil
}

// lockOfContacts locks and returns the deals referencing any of the contacts, in id order.
func (s store) lockOfContacts(ctx context.Context, orgID int64, contactIDs []int64) ([]Deal, error) {
	rows, err := database.Select[Deal](ctx, s.db.Q(ctx), database.SQL.Select(dealCols...).From("deals").
		Where(sq.Eq{"organization_id": orgID}).Where(sq.Expr("contact_id = ANY(?::bigint[])", contactIDs)).
		OrderBy("id").Suffix(forUpdate))
	if err != nil {
		return nil, fmt.Errorf("lock deals of contacts: %w", err)
	}
	return rows, nil
}

// withTrashed runs fn inside the transaction of ctx with the rows the trash hides visible
// (database.IncludeTrashed): from there on, the rest of that transaction sees them too.
func (s store) withTrashed(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := database.IncludeTrashed(ctx); err != nil {
		return fmt.Errorf("include trashed: %w", err)
	}
	return fn(ctx)
}
