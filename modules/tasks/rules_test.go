package tasks

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/patch"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

func TestToday(t *testing.T) {
	t.Parallel()
	east := time.FixedZone("UTC+5", 5*3600)
	west := time.FixedZone("UTC-8", -8*3600)
	tests := []struct {
		now  time.Time
		want string
	}{
		{time.Date(2030, 1, 15, 0, 0, 0, 0, time.UTC), "2030-01-15"},
		{time.Date(2030, 1, 15, 23, 59, 59, 999999999, time.UTC), "2030-01-15"},
		{time.Date(2030, 1, 16, 0, 0, 0, 0, time.UTC), "2030-01-16"},
		// The local day of the clock's location does not matter, only the UTC day.
		{time.Date(2030, 1, 16, 3, 0, 0, 0, east), "2030-01-15"},
		{time.Date(2030, 1, 15, 17, 0, 0, 0, west), "2030-01-16"},
		{time.Date(2030, 12, 31, 23, 59, 59, 0, time.UTC), "2030-12-31"},
	}
	for _, tt := range tests {
		got := today(tt.now, time.UTC)
		if got != day(tt.want) {
			t.Errorf("today(%v) = %v, want %s", tt.now, got, tt.want)
		}
	}
}

// Today is the date in the organization's time zone, whatever the clock's location.
func TestTodayInTheOrganizationsTimeZone(t *testing.T) {
	t.Parallel()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	tests := []struct {
		now  time.Time
		loc  *time.Location
		want string
	}{
		{time.Date(2030, 1, 15, 14, 59, 59, 0, time.UTC), tokyo, "2030-01-15"},
		{time.Date(2030, 1, 15, 15, 0, 0, 0, time.UTC), tokyo, "2030-01-16"},
		{time.Date(2030, 1, 15, 7, 59, 59, 0, time.UTC), la, "2030-01-14"},
		{time.Date(2030, 1, 15, 8, 0, 0, 0, time.UTC), la, "2030-01-15"},
		{time.Date(2030, 1, 16, 3, 0, 0, 0, time.FixedZone("UTC+5", 5*3600)), la, "2030-01-15"},
	}
	for _, tt := range tests {
		if got := today(tt.now, tt.loc); got != day(tt.want) {
			t.Errorf("today(%v, %v) = %v, want %s", tt.now, tt.loc, got, tt.want)
		}
	}
}

func TestCheckDueDateAtMidnightUTC(t *testing.T) {
	t.Parallel()
	lastSecond := time.Date(2030, 1, 15, 23, 59, 59, 999999999, time.UTC)
	midnight := time.Date(2030, 1, 16, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		due  *time.Time
		now  time.Time
		past bool
	}{
		{"no due date", nil, midnight, false},
		{"today, last instant of the day", ptr(day("2030-01-15")), lastSecond, false},
		{"yesterday, last instant of today", ptr(day("2030-01-14")), lastSecond, true},
		{"the same date once midnight passed", ptr(day("2030-01-15")), midnight, true},
		{"the new today at midnight", ptr(day("2030-01-16")), midnight, false},
		{"tomorrow", ptr(day("2030-01-17")), midnight, false},
		{"far past", ptr(day("1999-12-31")), midnight, true},
		{"far future", ptr(day("9999-12-31")), midnight, false},
		// A clock in another zone: 2030-01-16 01:00 at UTC+2 is still 2030-01-15 in UTC.
		{"clock in another zone", ptr(day("2030-01-15")), time.Date(2030, 1, 16, 1, 0, 0, 0, time.FixedZone("", 7200)), false},
	}
	for _, tt := range tests {
		err := checkDueDate(tt.due, today(tt.now, time.UTC))
		if (err != nil) != tt.past {
			t.Errorf("%s: err = %v, want past %v", tt.name, err, tt.past)
		}
		if err != nil && !errors.Is(err, ErrDueDateInPast) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

func TestCheckDueDateChange(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 16, 0, 0, 0, 0, time.UTC)
	overdue := ptr(day("2030-01-10"))
	tests := []struct {
		name string
		cur  *time.Time
		next patch.Optional[time.Time]
		past bool
	}{
		{"absent on an overdue task", overdue, patch.Optional[time.Time]{}, false},
		{"null on an overdue task", overdue, patch.Null[time.Time](), false},
		{"the same overdue date again", overdue, patch.Some(day("2030-01-10")), false},
		{"another past date", overdue, patch.Some(day("2030-01-11")), true},
		{"a past date on an undated task", nil, patch.Some(day("2030-01-15")), true},
		{"today", overdue, patch.Some(day("2030-01-16")), false},
		{"later", nil, patch.Some(day("2030-02-01")), false},
	}
	for _, tt := range tests {
		if err := checkDueDateChange(tt.cur, tt.next, today(now, time.UTC)); (err != nil) != tt.past {
			t.Errorf("%s: err = %v, want past %v", tt.name, err, tt.past)
		}
	}
}

func TestCheckModify(t *testing.T) {
	t.Parallel()
	const self, other = 7, 8
	for _, role := range auth.Roles {
		p := auth.Principal{UserID: self, OrgID: 1, Role: role}
		if err := ownership.CheckModify(p, self); err != nil {
			t.Errorf("%s on own deal: %v", role, err)
		}
		err := ownership.CheckModify(p, other)
		if role == auth.RoleMember {
			if !errors.Is(err, ownership.ErrNotOwner) || !errors.Is(err, auth.ErrNotOwner) {
				t.Errorf("member on another's deal: %v", err)
			}
		} else if err != nil {
			t.Errorf("%s on another's deal: %v", role, err)
		}
	}
}

// The task policy's refusals are the ownership errors of platform/auth with sentences about
// tasks, never a nil *apperr.Error inside a non-nil error.
func TestPolicyHasNoNilRefusal(t *testing.T) {
	t.Parallel()
	p := auth.Principal{UserID: 7, OrgID: 1, Role: auth.RoleMember}
	for _, c := range []struct {
		err  error
		want *apperr.Error
	}{
		{ownership.CheckCreate(p, 8), auth.ErrCreateForOther},
		{ownership.CheckReassign(p, 7, 8), auth.ErrReassignForbidden},
	} {
		if ae, ok := apperr.As(c.err); !ok || ae == nil || !errors.Is(c.err, c.want) || apperr.KindOf(c.err) != apperr.KindForbidden {
			t.Errorf("error %#v, want %v", c.err, c.want)
		}
	}
	if err := ownership.CheckCreate(p, 7); err != nil {
		t.Errorf("create for self: %#v", err)
	}
}

// A member changes a task on a deal they own or assigned to them; others always.
func TestMayChange(t *testing.T) {
	t.Parallel()
	const self, other = 7, 8
	for _, role := range auth.Roles {
		p := auth.Principal{UserID: self, OrgID: 1, Role: role}
		for _, c := range []struct {
			dealOwner, assignee int64
			member              bool
		}{{self, self, true}, {self, other, true}, {other, self, true}, {other, other, false}} {
			err := mayChange(p, c.dealOwner, Task{AssigneeID: c.assignee})
			want := c.member || role != auth.RoleMember
			if (err == nil) != want || (err != nil && !errors.Is(err, auth.ErrNotOwner)) {
				t.Errorf("%s, deal of %d, assigned to %d: %v", role, c.dealOwner, c.assignee, err)
			}
		}
	}
}

func TestChanges(t *testing.T) {
	t.Parallel()
	cur := Task{Title: "Call", Description: ptr("notes"), DueDate: ptr(day("2030-01-10")), IsDone: false, AssigneeID: 7}
	tests := []struct {
		name  string
		patch Patch
		want  map[string]any
	}{
		{"empty", Patch{}, map[string]any{}},
		{"same values", Patch{Title: ptr("Call"), Description: patch.Some("notes"), DueDate: patch.Some(day("2030-01-10")), IsDone: ptr(false)}, map[string]any{}},
		{"same date in another location", Patch{DueDate: patch.Some(time.Date(2030, 1, 10, 0, 0, 0, 0, time.FixedZone("", 3600)))}, map[string]any{}},
		{"title", Patch{Title: ptr("Email")}, map[string]any{"title": "Email"}},
		{"same assignee", Patch{AssigneeID: ptr[int64](7)}, map[string]any{}},
		{"assignee", Patch{AssigneeID: ptr[int64](8)}, map[string]any{"assignee_id": int64(8)}},
		{"done", Patch{IsDone: ptr(true)}, map[string]any{"is_done": true}},
		{"clear description", Patch{Description: patch.Null[string]()}, map[string]any{"description": (*string)(nil)}},
		{"clear due date", Patch{DueDate: patch.Null[time.Time]()}, map[string]any{"due_date": (*time.Time)(nil)}},
		{"new due date", Patch{DueDate: patch.Some(day("2030-02-01"))}, map[string]any{"due_date": ptr(day("2030-02-01"))}},
		{"new description", Patch{Description: patch.Some("more")}, map[string]any{"description": ptr("more")}},
	}
	for _, tt := range tests {
		got := changes(cur, tt.patch)
		if !maps.EqualFunc(got, tt.want, equalValue) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// Clearing what is already empty is no change.
	empty := Task{Title: "x"}
	if got := changes(empty, Patch{Description: patch.Null[string](), DueDate: patch.Null[time.Time]()}); len(got) != 0 {
		t.Errorf("clearing empty fields: %v", got)
	}
}

func equalValue(a, b any) bool {
	switch av := a.(type) {
	case *string:
		bv, ok := b.(*string)
		return ok && sameString(av, bv)
	case *time.Time:
		bv, ok := b.(*time.Time)
		return ok && sameDate(av, bv)
	}
	return a == b
}

func TestCreatedPayload(t *testing.T) {
	t.Parallel()
	p := createdPayload(Task{ID: 3, Title: "Call", DueDate: ptr(day("2030-01-15"))})
	if p["task_id"] != int64(3) || p["title"] != "Call" || p["due_date"] != "2030-01-15" || len(p) != 3 {
		t.Fatalf("payload %v", p)
	}
	p = createdPayload(Task{ID: 4, Title: "Undated"})
	if v, ok := p["due_date"]; !ok || v != nil {
		t.Fatalf("undated payload %v", p)
	}
}
