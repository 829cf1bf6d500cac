package tasks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/tasks/tasksapi"
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

// toTrash marks tasks as in the trash: those of ids, or every live task of the deal when
// dealID is set (they go with it: with_deal). The transaction of ctx includes the trash.
// The tasks are returned in id order, as they are now.
func (s store) toTrash(ctx context.Context, orgID int64, ids []int64, dealID *int64, by trashapi.Actor) ([]Task, error) {
	where := sq.And{sq.Eq{"organization_id": orgID, "deleted_at": nil}}
	withDeal := dealID != nil
	if withDeal {
		where = append(where, sq.Eq{"deal_id": *dealID})
	} else {
		where = append(where, sq.Eq{"id": ids})
	}
	// The lock first, in id order, so that concurrent writers of these tasks queue.
	if _, err := database.Select[Task](ctx, s.db.Q(ctx), database.SQL.Select(taskCols...).From("tasks").Where(where).
		OrderBy("id").Suffix("FOR UPDATE")); err != nil {
		return nil, fmt.Errorf("lock tasks: %w", err)
	}
	r, err := database.Select[Task](ctx, s.db.Q(ctx), database.SQL.Update("tasks").Set("deleted_at", sq.Expr("clock_timestamp()")).
		Set("deleted_by_type", by.Type).Set("deleted_by_id", by.ID).Set("with_deal", withDeal).Where(where).Suffix(returning))
	if err != nil {
		return nil, fmt.Errorf("trash tasks: %w", err)
	}
	slices.SortFunc(r, func(a, b Task) int { return cmp.Compare(a.ID, b.ID) })
	return r, nil
}

// fromTrash takes tasks out of the trash: the one with id, or, when dealID is set, those that
// went to the trash with that deal. They are returned in id order.
func (s store) fromTrash(ctx context.Context, orgID int64, id *int64, dealID *int64) ([]Task, error) {
	where := sq.And{sq.Eq{"organization_id": orgID}, sq.NotEq{"deleted_at": nil}}
	if dealID != nil {
		where = append(where, sq.Eq{"deal_id": *dealID, "with_deal": true})
	} else {
		where = append(where, sq.Eq{"id": *id})
	}
	r, err := database.Select[Task](ctx, s.db.Q(ctx), database.SQL.Update("tasks").Set("deleted_at", nil).
		Set("deleted_by_type", nil).Set("deleted_by_id", nil).Set("with_deal", false).Where(where).Suffix(returning))
	if err != nil {
		return nil, fmt.Errorf("restore tasks: %w", err)
	}
	slices.SortFunc(r, func(a, b Task) int { return cmp.Compare(a.ID, b.ID) })
	return r, nil
}

// purge deletes the tasks of ids that are in the trash.
func (s store) purge(ctx context.Context, orgID int64, ids []int64) error {
	if _, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("tasks").Where(sq.Eq{"organization_id": orgID, "id": ids}).
		Where(sq.NotEq{"deleted_at": nil})); err != nil {
		return fmt.Errorf("purge tasks: %w", err)
	}
	return nil
}

// recordData writes the event of a task change with further members of data (reason).
func (s *Service) recordData(ctx context.Context, typ string, t Task, data map[string]any) error {
	if s.outbox == nil {
		return nil
	}
	_, err := s.outbox.Record(ctx, events.Change{OrgID: t.OrganizationID, Type: typ, Object: toJSON(t), Data: data})
	return err
}

func (s *Service) deleter(ctx context.Context) trashapi.Actor {
	if s.trash == nil {
		return trashapi.Actor{Type: "system"}
	}
	return s.trash.Deleter(ctx)
}

// Delete moves a task to the trash (task.deleted with reason trashed): a member only on a
// deal they own (being its assignee is not enough).
func (s *Service) Delete(ctx context.Context, id int64) error {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return err
	}
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := s.lockForChange(ctx, p, id); err != nil {
			return err
		}
		if err := database.IncludeTrashed(ctx); err != nil {
			return err
		}
		by := s.deleter(ctx)
		ts, err := s.store.toTrash(ctx, p.OrgID, []int64{id}, nil, by)
		if err != nil {
			return err
		}
		if len(ts) != 1 {
			return tasksapi.ErrTaskNotFound
		}
		t := ts[0]
		if err := s.recordData(ctx, "task.deleted", t, map[string]any{"reason": "trashed"}); err != nil {
			return err
		}
		if s.trash == nil {
			return nil
		}
		return s.trash.Put(ctx, trashapi.Item{OrgID: p.OrgID, Object: trashapi.Task, ID: t.ID, Name: t.Title,
			DeletedAt: *t.DeletedAt, DeletedBy: by})
	})
}

// dealDeleting moves the live tasks of a deal going to the trash with it, in the deal's
// transaction (which includes the trash), each with its task.deleted event (reason
// trashed), before the deal's own. They get no trash item: the deal's stands for them, and
// its restore brings back exactly these. A task deleted on its own before stays as it was.
func (s *Service) dealDeleting(ctx context.Context, e dealsapi.DealDeleting) error {
	ts, err := s.store.toTrash(ctx, e.OrgID, nil, &e.DealID, s.deleter(ctx))
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := s.recordData(ctx, "task.deleted", t, map[string]any{"reason": "trashed"}); err != nil {
			return err
		}
	}
	return nil
}

// dealRestoring brings back the tasks that went to the trash with a deal being restored, in
// its transaction, each with its task.restored event.
func (s *Service) dealRestoring(ctx context.Context, e dealsapi.DealRestoring) error {
	ts, err := s.store.fromTrash(ctx, e.OrgID, nil, &e.DealID)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := s.recordData(ctx, "task.restored", t, nil); err != nil {
			return err
		}
	}
	return nil
}

// restorer restores and purges tasks for the trash module.
type restorer struct{ svc *Service }

var _ trashapi.Restorer = restorer{}

// Restore implements trashapi.Restorer: a task whose deal is in the trash is 409
// parent_in_trash (the deal's restore brings back the tasks that went with it); otherwise
// whoever may delete the task may restore it (a member only on a deal they own).
func (r restorer) Restore(ctx context.Context, orgID, id int64) (any, error) {
	s := r.svc
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := s.store.get(ctx, orgID, id, true)
	if errors.Is(err, tasksapi.ErrTaskNotFound) || (err == nil && cur.DeletedAt == nil) {
		return nil, trashapi.ErrNotInTrash
	}
	if err != nil {
		return nil, err
	}
	// The transaction includes the trash, so this sees the deal wherever it is.
	deal, err := s.deals.Deal(ctx, orgID, cur.DealID)
	if err != nil {
		return nil, err
	}
	if deal.DeletedAt != nil {
		return nil, trashapi.ErrParentInTrash
	}
	if err := ownership.CheckModify(p, deal.OwnerID); err != nil {
		return nil, err
	}
	ts, err := s.store.fromTrash(ctx, orgID, &id, nil)
	if err != nil {
		return nil, err
	}
	if len(ts) != 1 {
		return nil, trashapi.ErrNotInTrash
	}
	if err := s.recordData(ctx, "task.restored", ts[0], nil); err != nil {
		return nil, err
	}
	if s.trash != nil {
		if err := s.trash.Remove(ctx, orgID, trashapi.Task, id); err != nil {
			return nil, err
		}
	}
	return toJSON(ts[0]), nil
}

// Purge implements trashapi.Restorer: the tasks of ids still in the trash go for good,
// without events. Ids no longer there (gone with their deal) are reported as purged too, so
// that their items go.
func (r restorer) Purge(ctx context.Context, orgID int64, ids []int64) ([]int64, error) {
	if err := r.svc.store.purge(ctx, orgID, ids); err != nil {
		return nil, err
	}
	return ids, nil
}
