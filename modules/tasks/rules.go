package tasks

import (
	"time"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/patch"
)

// ErrDueDateInPast is the 400 for a due date before today (UTC).
var ErrDueDateInPast = apperr.InvalidField("due_date_in_past", "due_date", "must not be in the past",
	"due_date must not be in the past; today (UTC) or a later date is accepted")

// ownership judges a task by the owner of its deal: creating, changing and
// deleting a task all take CheckModify on the deal, refused with auth.ErrNotOwner. A task has
// no owner of its own, so the other refusals keep the sentences of platform/auth.
var ownership = auth.Ownership{
	ErrNotOwner: auth.ErrNotOwner.WithDetail("members can create, change or delete tasks only on deals they own"),
}

// today returns midnight UTC of the day now falls on in UTC.
func today(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
}

// checkDueDate refuses a due date before today (UTC); today itself is accepted. nil (no due
// date) is always fine.
func checkDueDate(due *time.Time, now time.Time) error {
	if due != nil && due.Before(today(now)) {
		return ErrDueDateInPast
	}
	return nil
}

// checkDueDateChange applies the past-date rule to a PATCH: only a due date that is present,
// not null and different from the current one is checked, so that an overdue task can be
// renamed, marked done, or sent back whole with its old date.
func checkDueDateChange(cur *time.Time, next patch.Optional[time.Time], now time.Time) error {
	if !next.HasValue() || sameDate(cur, &next.Value) {
		return nil
	}
	return checkDueDate(&next.Value, now)
}

// Patch is a partial update: nil or unset fields stay as they are; a null Description or
// DueDate clears it. DueDate values are midnight UTC.
type Patch struct {
	Title       *string
	Description patch.Optional[string]
	DueDate     patch.Optional[time.Time]
	IsDone      *bool
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
