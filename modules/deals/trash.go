package deals

import (
	"context"
	"errors"
	"fmt"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/trash/trashapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
)

// Trash is what this module uses of the trash facade.
type Trash interface {
	Deleter(ctx context.Context) trashapi.Actor
	Put(ctx context.Context, item trashapi.Item) error
	Remove(ctx context.Context, orgID int64, object string, id int64) error
}

// moveToTrash marks the locked deal as in the trash, in the transaction of ctx, which must
// include the trash (the returned row is in it).
func (s store) moveToTrash(ctx context.Context, orgID, id int64, by trashapi.Actor) (Deal, error) {
	q := database.SQL.Update("deals").Set("deleted_at", sq.Expr("clock_timestamp()")).
		Set("deleted_by_type", by.Type).Set("deleted_by_id", by.ID).
		Where(sq.Eq{"organization_id": orgID, "id": id, "deleted_at": nil}).Suffix(returning)
	r, err := database.Get[Deal](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, dealsapi.ErrDealNotFound
	}
	if err != nil {
		return r, fmt.Errorf("trash deal: %w", err)
	}
	return r, nil
}

// bringBack takes the deal out of the trash; its updated_at and ETag stay.
func (s store) bringBack(ctx context.Context, orgID, id int64) (Deal, error) {
	q := database.SQL.Update("deals").Set("deleted_at", nil).Set("deleted_by_type", nil).Set("deleted_by_id", nil).
		Where(sq.Eq{"organization_id": orgID, "id": id}).Where(sq.NotEq{"deleted_at": nil}).Suffix(returning)
	r, err := database.Get[Deal](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, trashapi.ErrNotInTrash
	}
	if err != nil {
		return r, fmt.Errorf("restore deal: %w", err)
	}
	return r, nil
}

// purge deletes the deals of ids that are in the trash; their activities, tasks and stage
// history go with them through the foreign keys.
func (s store) purge(ctx context.Context, orgID int64, ids []int64) error {
	if _, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("deals").Where(sq.Eq{"organization_id": orgID, "id": ids}).
		Where(sq.NotEq{"deleted_at": nil})); err != nil {
		return fmt.Errorf("purge deals: %w", err)
	}
	return nil
}

// moveTrashedAtStage gives the deals in the trash at a stage of the pipeline another stage,
// quietly (they are in nobody's view), so that none comes back at a stage the pipeline no
// longer has.
func (s store) moveTrashedAtStage(ctx context.Context, orgID, pipelineID int64, from, to string) error {
	return database.WithTrashed(ctx, func() error {
		_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("deals").Set("stage", to).
			Set("max_stage", sq.Expr("GREATEST(max_stage, ?::smallint)", dealsapi.StageOrdinal(to))).
			Where(sq.Eq{"organization_id": orgID, "pipeline_id": pipelineID, "stage": from}).Where(sq.NotEq{"deleted_at": nil}))
		if err != nil {
			return fmt.Errorf("move trashed deals: %w", err)
		}
		return nil
	})
}

// recordTrash writes the event of a deal change with further members of data (reason).
func (s *Service) recordTrash(ctx context.Context, typ string, d Deal, data map[string]any) error {
	if s.outbox == nil {
		return nil
	}
	_, err := s.outbox.Record(ctx, events.Change{OrgID: d.OrganizationID, Type: typ, Object: toJSON(d), Data: data})
	return err
}

// Delete moves a deal to the trash (deal.deleted with reason trashed) with its live tasks
// (DealDeleting: the tasks module moves them, each with its task.deleted first). Its
// timeline and stage history stay, hidden with it: its timeline answers 404 as the deal
// does. Analytics drops it (DealWritten with Before only, as for a delete).
func (s *Service) Delete(ctx context.Context, id int64) error {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return err
	}
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.get(ctx, p.OrgID, id, forUpdate)
		if err != nil {
			return err
		}
		if err := ownership.CheckModify(p, cur.OwnerID); err != nil {
			return err
		}
		if err := database.IncludeTrashed(ctx); err != nil {
			return err
		}
		if s.emitDeleting != nil {
			if err := s.emitDeleting(ctx, dealsapi.DealDeleting{OrgID: p.OrgID, DealID: id}); err != nil {
				return err
			}
		}
		visited, err := s.store.visited(ctx, p.OrgID, id, cur.PipelineID)
		if err != nil {
			return err
		}
		by := trashapi.Actor{Type: "system"}
		if s.trash != nil {
			by = s.trash.Deleter(ctx)
		}
		out, err := s.store.moveToTrash(ctx, p.OrgID, id, by)
		if err != nil {
			return err
		}
		if err := s.store.setVisitsTrashed(ctx, p.OrgID, id, true); err != nil {
			return err
		}
		if err := s.recordTrash(ctx, "deal.deleted", cur, map[string]any{"reason": "trashed"}); err != nil {
			return err
		}
		if s.trash != nil {
			if err := s.trash.Put(ctx, trashapi.Item{OrgID: p.OrgID, Object: trashapi.Deal, ID: id, Name: out.Title,
				DeletedAt: *out.DeletedAt, DeletedBy: by}); err != nil {
				return err
			}
		}
		return s.written(ctx, dealsapi.DealWritten{OrgID: p.OrgID, DealID: id, Before: cur.factsVisited(visited)})
	})
	if err != nil {
		return err
	}
	s.changed(ctx, p.OrgID)
	return nil
}

// restorer restores and purges deals for the trash module.
type restorer struct{ svc *Service }

var _ trashapi.Restorer = restorer{}

// Restore implements trashapi.Restorer: the deal comes back with the tasks that went to the
// trash with it and, when its contact is in the trash, with its contact (restoring never
// leaves a deal pointing at a contact in the trash). A member may restore only a deal they
// own, and its contact only when they own it too. Analytics counts the deal again
// (DealWritten with After, its visited stages from the stage history).
func (r restorer) Restore(ctx context.Context, orgID, id int64) (any, error) {
	s := r.svc
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := s.store.get(ctx, orgID, id, forUpdate)
	if errors.Is(err, dealsapi.ErrDealNotFound) || (err == nil && cur.DeletedAt == nil) {
		return nil, trashapi.ErrNotInTrash
	}
	if err != nil {
		return nil, err
	}
	if err := ownership.CheckModify(p, cur.OwnerID); err != nil {
		return nil, err
	}
	// The transaction includes the trash, so this sees the contact wherever it is.
	if err := s.contacts.RestoreFromTrash(ctx, orgID, cur.ContactID); err != nil {
		return nil, err
	}
	out, err := s.store.bringBack(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if err := s.store.setVisitsTrashed(ctx, orgID, id, false); err != nil {
		return nil, err
	}
	visited, err := s.store.visited(ctx, orgID, id, out.PipelineID)
	if err != nil {
		return nil, err
	}
	if err := s.recordTrash(ctx, "deal.restored", out, nil); err != nil {
		return nil, err
	}
	if s.emitRestoring != nil {
		if err := s.emitRestoring(ctx, dealsapi.DealRestoring{OrgID: orgID, DealID: id}); err != nil {
			return nil, err
		}
	}
	if s.trash != nil {
		if err := s.trash.Remove(ctx, orgID, trashapi.Deal, id); err != nil {
			return nil, err
		}
	}
	if err := s.written(ctx, dealsapi.DealWritten{OrgID: orgID, DealID: id, After: out.factsVisited(visited)}); err != nil {
		return nil, err
	}
	s.changed(ctx, orgID)
	return toJSON(out), nil
}

// Purge implements trashapi.Restorer: the deals of ids still in the trash go for good, their
// tasks, activities and stage history with them, without events. Ids that are no longer
// there (gone with an earlier purge) are reported as purged too, so that their items go.
func (r restorer) Purge(ctx context.Context, orgID int64, ids []int64) ([]int64, error) {
	if err := r.svc.store.purge(ctx, orgID, ids); err != nil {
		return nil, err
	}
	return ids, nil
}
