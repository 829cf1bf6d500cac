package tasks

import (
	"time"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/patch"
)

// Errors of the task rules.
var (
	// ErrDueDateInPast is the 400 for a due date before today in the organization's time zone.
	ErrDueDateInPast = apperr.InvalidField("due_date_in_past", "due_date", "must not be in the past",
		"due_date must not be in the past; today (in the organization's time zone) or a later date is accepted")
	// ErrAssigneeNotMember is the 400 for a task given an assignee_id that is not a member of
	// its organization: tasks are always assigned to a member.
	ErrAssigneeNotMember = apperr.InvalidField("assignee_not_member", "assignee_id", "must be a member of this organization",
		"assignee_id must be the user id of a member of this organization")
)

// ownership judges a task by the owner of its deal and by its assignee. Creating and deleting
// a task take CheckModify on the deal; changing one is also allowed to its assignee (see
// mayChange). A member creates tasks only for themselves and never hands one to someone else.
var ownership = auth.Ownership{
	ErrNotOwner: auth.ErrNotOwner.WithDetail("members can create or delete tasks only on deals they own, " +
		"and change only those tasks or the tasks assigned to them"),
	ErrCreateForOther: auth.ErrCreateForOther.WithDetail("members can create tasks only for themselves: " +
		"leave assignee_id out or set it to your own user id"),
	ErrReassign: auth.ErrReassignForbidden.WithDetail("only owners, admins and managers can assign tasks to someone else"),
}

// mayChange decides whether p may change (not delete) a task: as for its deal, or as its
// assignee.
func mayChange(p auth.Principal, dealOwnerID int64, t Task) error {
	if p.CanModifyOwned(t.AssigneeID) {
		return nil
	}
	return ownership.CheckModify(p, dealOwnerID)
}

// today returns midnight UTC of the date now falls on in loc (the organization's time zone).
func today(now time.Time, loc *time.Location) time.Time {
	now = now.In(loc)
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
}

// checkDueDate refuses a due date before today; today itself is accepted. nil (no due date)
// is always fine. today is midnight UTC of the organization's current date.
func checkDueDate(due *time.Time, today time.Time) error {
	if due != nil && due.Before(today) {
		return ErrDueDateInPast
	}
	return nil
}

// checkDueDateChange applies the past-date rule to a PATCH: only a due date that is present,
// not null and different from the current one is checked, so that an overdue task can be
// renamed, marked done, or sent back whole with its old date.
func checkDueDateChange(cur *time.Time, next patch.Optional[time.Time], today time.Time) error {
	if !next.HasValue() || sameDate(cur, &next.Value) {
		return nil
	}
	return checkDueDate(&next.Value, today)
}

// Patch is a partial update: nil or unset fields stay as they are; a null Description or
// DueDate clears it. DueDate values are midnight UTC of the date, read in the organization's
// time zone.
type Patch struct {
	Title       *string
	Description patch.Optional[string]
	DueDate     patch.Optional[time.Time]
	IsDone      *bool
	AssigneeID  *int64
}

// changes lists the columns the patch really changes, so that a patch repeating the
// current values writes nothing and leaves updated_at alone.
func changes(cur Task, patch Patch) map[string]any {
	set := map[string]any{}
	if patch.Title != nil && *patch.Title != cur.Title {
		set["title"] = *patch.Title
	}
	if patch.Description.Set {
		if v := patch.Description.Ptr(); !sameString(v, cur.Description) {
			set["description"] = v
		}
	}
	if patch.DueDate.Set {
		if v := patch.DueDate.Ptr(); !sameDate(v, cur.DueDate) {
			set["due_date"] = v
		}
	}
	if patch.IsDone != nil && *patch.IsDone != cur.IsDone {
		set["is_done"] = *patch.IsDone
	}
	if patch.AssigneeID != nil && *patch.AssigneeID != cur.AssigneeID {
		set["assignee_id"] = *patch.AssigneeID
	}
	return set
}

func sameString(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// sameDate compares two dates by their calendar day, whatever their location.
func sameDate(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// createdPayload is the payload of the task_created activity.
func createdPayload(t Task) map[string]any {
	var due any
	if t.DueDate != nil {
		due = t.DueDate.Format(time.DateOnly)
	}
	return map[string]any{"task_id": t.ID, "title": t.Title, "due_date": due}
}
