package tasks

import (
	"context"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/modules/tasks/tasksapi"
	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/patch"
)

// Deals is what this module uses of the deals facade.
type Deals interface {
	Deal(ctx context.Context, orgID, dealID int64) (dealsapi.Deal, error)
}

// Timeline is what this module uses of the timeline facade.
type Timeline interface {
	Append(ctx context.Context, a timelineapi.NewActivity) (timelineapi.Activity, error)
}

// Orgs is what this module uses of the orgs facade: the organization's time zone.
type Orgs interface {
	Organization(ctx context.Context, orgID int64) (orgsapi.Organization, error)
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
	orgs     Orgs
	outbox   Outbox
	// now is the clock "today" is read from, so that tests can pin it.
	now func() time.Time
	// trash records the tasks DELETE moves to the trash.
	trash Trash
}

// Day is a date a client sent. Its date may depend on the time zone it is read in (an RFC
// 3339 date-time with an offset), so the service reads it in the organization's: DateIn
// returns midnight UTC of the date seen in loc.
type Day interface {
	DateIn(loc *time.Location) time.Time
}

// Date is a Day that is the same date in every time zone; t is midnight UTC of it.
type Date time.Time

// DateIn returns the date itself.
func (d Date) DateIn(*time.Location) time.Time { return time.Time(d) }

// NewTask is a task to create. A nil DueDate is no due date; a nil AssigneeID assigns the
// task to its deal's owner.
type NewTask struct {
	DealID      int64
	Title       string
	Description *string
	DueDate     Day
	AssigneeID  *int64
}

// Change is a partial update as a client sent it: Patch, with a due date still to be read in
// the organization's time zone.
type Change struct {
	Patch
	Due patch.Optional[Day]
}

// The orders of the list (ListFilter.OrderBy).
const (
	OrderDueDate   = "due_date"
	OrderCreatedAt = "created_at"
	OrderUpdatedAt = "updated_at"
)

// Orders are the orders of the list, the first the default.
var Orders = []string{OrderDueDate, OrderCreatedAt, OrderUpdatedAt}

// ListFilter narrows and orders the task list. Both due-date bounds are inclusive, read in
// the organization's time zone, and tasks without a due date never match them. IsDone nil
// takes both; Overdue takes open tasks due before today in the organization's time zone.
// OrderBy is one of Orders ("" is due_date); undated tasks come last in the due-date order,
// first when Desc.
type ListFilter struct {
	DealID     *int64
	AssigneeID *int64
	OnlyOpen   bool
	IsDone     *bool
	Overdue    bool
	DueBefore  Day
	DueAfter   Day
	OrderBy    string
	Desc       bool
}

// dates are the dates of a ListFilter read in the organization's time zone, midnight UTC.
type dates struct {
	dueBefore, dueAfter *time.Time
	overdueBefore       *time.Time // today, for Overdue
}

// resolveDue reads a PATCH's due date in loc.
func resolveDue(d patch.Optional[Day], loc *time.Location) patch.Optional[time.Time] {
	if !d.HasValue() {
		return patch.Null[time.Time]()
	}
	return patch.Some(d.Value.DateIn(loc))
}

// location returns the organization's time zone and today's date in it (midnight UTC), on
// the service's clock.
func (s *Service) location(ctx context.Context, orgID int64) (*time.Location, time.Time, error) {
	o, err := s.orgs.Organization(ctx, orgID)
	if err != nil {
		return nil, time.Time{}, err
	}
	loc := o.Location()
	return loc, today(s.now(), loc), nil
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
	var d dates
	if f.Overdue || f.DueBefore != nil || f.DueAfter != nil {
		loc, day, err := s.location(ctx, p.OrgID)
		if err != nil {
			return database.Result[Task]{}, err
		}
		in := func(v Day) *time.Time {
			if v == nil {
				return nil
			}
			t := v.DateIn(loc)
			return &t
		}
		d.dueBefore, d.dueAfter = in(f.DueBefore), in(f.DueAfter)
		if f.Overdue {
			d.overdueBefore = &day
		}
	}
	return s.store.list(ctx, p.OrgID, f, d, w)
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
// in one transaction. A member may only add tasks to deals they own, assigned to themselves.
func (s *Service) Create(ctx context.Context, in NewTask) (Task, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Task{}, err
	}
	row := newTask{DealID: in.DealID, Title: in.Title, Description: in.Description}
	if in.DueDate != nil {
		loc, day, err := s.location(ctx, p.OrgID)
		if err != nil {
			return Task{}, err
		}
		due := in.DueDate.DateIn(loc)
		row.DueDate = &due
		if err := checkDueDate(row.DueDate, day); err != nil {
			return Task{}, err
		}
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
		row.AssigneeID = deal.OwnerID
		if in.AssigneeID != nil {
			row.AssigneeID = *in.AssigneeID
		}
		if err := ownership.CheckCreate(p, row.AssigneeID); err != nil {
			return err
		}
		// The foreign key checks of the insert lock the deal against deletion and the
		// assignee's membership against removal until commit.
		out, err = s.store.insert(ctx, p.OrgID, row)
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
// judged on the current owner of its deal and its current assignee, so concurrent updates of
// one task serialise. A member changes the tasks of deals they own and those assigned to
// them, and never assigns a task to someone else.
func (s *Service) Update(ctx context.Context, id int64, change Change) (Task, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Task{}, err
	}
	// The organization's time zone matters only to a due date.
	patch := change.Patch
	var day time.Time
	if change.Due.Set {
		var loc *time.Location
		if loc, day, err = s.location(ctx, p.OrgID); err != nil {
			return Task{}, err
		}
		patch.DueDate = resolveDue(change.Due, loc)
	}
	var out Task
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.get(ctx, p.OrgID, id, true)
		if err != nil {
			return err
		}
		deal, err := s.deals.Deal(ctx, p.OrgID, cur.DealID)
		if err != nil {
			return err
		}
		if err := mayChange(p, deal.OwnerID, cur); err != nil {
			return err
		}
		if patch.AssigneeID != nil {
			if err := ownership.CheckReassign(p, cur.AssigneeID, *patch.AssigneeID); err != nil {
				return err
			}
		}
		if err := checkDueDateChange(cur.DueDate, patch.DueDate, day); err != nil {
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

// memberRemoved hands the tasks of a member who leaves the organization to the owner of each
// task's deal, in the removal's transaction, each with its task.updated event. The removed
// member owns no deal at this point (a member who owns deals cannot be removed), so every
// task gets an assignee who stays. The assignee's foreign key is checked at commit, after this.
func (s *Service) memberRemoved(ctx context.Context, e orgsapi.MemberRemoved) error {
	// Tasks in the trash are handed on too (their deals' owners are read wherever the deals
	// are), or the assignee's key would fail the removal at commit; they get no event, being
	// in nobody's view, and come back with their new assignee.
	if err := database.IncludeTrashed(ctx); err != nil {
		return err
	}
	ts, err := s.store.assignedLocked(ctx, e.OrgID, e.UserID)
	if err != nil {
		return err
	}
	byOwner := map[int64][]int64{}
	owners := map[int64]int64{} // deal → owner
	var order []int64
	for _, t := range ts {
		owner, ok := owners[t.DealID]
		if !ok {
			d, err := s.deals.Deal(ctx, e.OrgID, t.DealID)
			if err != nil {
				return err
			}
			owner, owners[t.DealID] = d.OwnerID, d.OwnerID
		}
		if _, ok := byOwner[owner]; !ok {
			order = append(order, owner)
		}
		byOwner[owner] = append(byOwner[owner], t.ID)
	}
	after := map[int64]Task{}
	for _, owner := range order {
		done, err := s.store.reassign(ctx, e.OrgID, byOwner[owner], owner)
		if err != nil {
			return err
		}
		for _, t := range done {
			after[t.ID] = t
		}
	}
	for _, t := range ts { // events in id order
		if t.DeletedAt != nil {
			continue
		}
		if err := s.record(ctx, "task.updated", after[t.ID], &t); err != nil {
			return err
		}
	}
	return nil
}

// lockForChange locks the task and checks that the caller may delete it: a member only on
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
