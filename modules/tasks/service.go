package tasks

import (
	"context"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/tasks/tasksapi"
	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/listing"
)

// Deals is what this module uses of the deals facade.
type Deals interface {
	Deal(ctx context.Context, orgID, dealID int64) (dealsapi.Deal, error)
}

// Timeline is what this module uses of the timeline facade.
type Timeline interface {
	Append(ctx context.Context, a timelineapi.NewActivity) (timelineapi.Activity, error)
}

// Outbox is what this module uses of the change feed (platform/events.Outbox).
type Outbox interface {
	Record(ctx context.Context, c events.Change) (int64, error)
}

// Service implements the task use cases and the tasks facade.
type Service struct {
	db       *database.DB
	store    store
	deals    Deals
	timeline Timeline
	outbox   Outbox
	// now is the clock "today" is read from, so that tests can pin it.
	now func() time.Time
}

// NewTask is a task to create. DueDate, when set, is midnight UTC of the date.
type NewTask struct {
	DealID      int64
	Title       string
	Description *string
	DueDate     *time.Time
}

// ListFilter narrows the task list. Dates are midnight UTC; both bounds are inclusive and
// tasks without a due date never match them.
type ListFilter struct {
	DealID    *int64
	OnlyOpen  bool
	DueBefore *time.Time
	DueAfter  *time.Time
}

// record writes the event of a task change in the transaction of ctx: the task as its GET
// renders it after the change (for a delete, its last state) and, for an update, before.
func (s *Service) record(ctx context.Context, typ string, after Task, before *Task) error {
	if s.outbox == nil {
		return nil
	}
	c := events.Change{OrgID: after.OrganizationID, Type: typ, Object: toJSON(after)}
	if before != nil {
		c.Before = toJSON(*before)
	}
	_, err := s.outbox.Record(ctx, c)
	return err
}

// List returns a page of the organization's tasks by due date, undated tasks last. Anyone
// in the organization may read every task. A deal_id of another organization matches no
// task, like any id that matches none.
func (s *Service) List(ctx context.Context, f ListFilter, w listing.Window) (database.Result[Task], error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return database.Result[Task]{}, err
	}
	return s.store.list(ctx, p.OrgID, f, w)
}

// Get returns one task of the organization.
func (s *Service) Get(ctx context.Context, id int64) (Task, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Task{}, err
	}
	return s.store.get(ctx, p.OrgID, id, false)
}

// Create adds a task to a deal of the organization and records it on the deal's timeline,
// in one transaction. A member may only add tasks to deals they own.
func (s *Service) Create(ctx context.Context, in NewTask) (Task, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Task{}, err
	}
	if err := checkDueDate(in.DueDate, s.now()); err != nil {
		return Task{}, err
	}
	var out Task
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		deal, err := s.deals.Deal(ctx, p.OrgID, in.DealID)
		if err != nil {
			return err
		}
		if err := ownership.CheckModify(p, deal.OwnerID); err != nil {
			return err
		}
		// The foreign key check of the insert locks the deal against deletion until commit.
		out, err = s.store.insert(ctx, p.OrgID, newTask(in))
		if err != nil {
			return err
		}
		if err := s.record(ctx, "task.created", out, nil); err != nil {
			return err
		}
		_, err = s.timeline.Append(ctx, timelineapi.NewActivity{OrgID: p.OrgID, DealID: out.DealID, AuthorID: &p.UserID,
			Type: tasksapi.TypeTaskCreated, Payload: createdPayload(out)})
		return err
	})
	if err != nil {
		return Task{}, err
	}
	return out, nil
}

// Update applies a partial update. The task row is locked first and the permission is
// judged on the current owner of its deal, so concurrent updates of one task serialise.
func (s *Service) Update(ctx context.Context, id int64, patch Patch) (Task, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Task{}, err
	}
	var out Task
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.lockForChange(ctx, p, id)
		if err != nil {
			return err
		}
		if err := checkDueDateChange(cur.DueDate, patch.DueDate, s.now()); err != nil {
			return err
		}
		set := changes(cur, patch)
		if len(set) == 0 {
			out = cur
			return nil
		}
		out, err = s.store.update(ctx, p.OrgID, id, set)
		if err != nil {
			return err
		}
		return s.record(ctx, "task.updated", out, &cur)
	})
	if err != nil {
		return Task{}, err
	}
	return out, nil
}

// Delete removes a task, under the same permission as a change.
func (s *Service) Delete(ctx context.Context, id int64) error {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return err
	}
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.lockForChange(ctx, p, id)
		if err != nil {
			return err
		}
		if err := s.store.delete(ctx, p.OrgID, id); err != nil {
			return err
		}
		return s.record(ctx, "task.deleted", cur, nil)
	})
}

// dealDeleting records a task.deleted event for each task of a deal being deleted, in the
// deal's delete transaction: the foreign key takes the tasks with the deal, so this is
// their last state. They are locked, so no change of theirs commits in between (a task
// cannot be added either: the deal is locked for the delete).
func (s *Service) dealDeleting(ctx context.Context, e dealsapi.DealDeleting) error {
	ts, err := s.store.ofDealLocked(ctx, e.OrgID, e.DealID)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := s.record(ctx, "task.deleted", t, nil); err != nil {
			return err
		}
	}
	return nil
}

// lockForChange locks the task and checks that the caller may change it: a member only on
// a deal they own at this moment.
func (s *Service) lockForChange(ctx context.Context, p auth.Principal, id int64) (Task, error) {
	cur, err := s.store.get(ctx, p.OrgID, id, true)
	if err != nil {
		return Task{}, err
	}
	deal, err := s.deals.Deal(ctx, p.OrgID, cur.DealID)
	if err != nil {
		return Task{}, err
	}
	if err := ownership.CheckModify(p, deal.OwnerID); err != nil {
		return Task{}, err
	}
	return cur, nil
}
