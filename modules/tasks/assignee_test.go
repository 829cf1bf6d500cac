package tasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/modules/tasks"
)

// A task is assigned to its deal's owner unless the client names another member.
func TestAssigneeDefaultsToTheDealsOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.task(e.memberDeal, nil)
	conforms(t, "Task", e.as(e.team.Owner, "GET", taskPath(id(tk)), nil).Body)
	if tk["assignee_id"] != float64(e.team.Member.ID) {
		t.Fatalf("task on the member's deal: %v", tk)
	}
	tk = e.task(e.memberDeal, map[string]any{"assignee_id": e.team.Manager.ID})
	if tk["assignee_id"] != float64(e.team.Manager.ID) {
		t.Fatalf("task given to the manager: %v", tk)
	}
	// A member may name themselves.
	tk = e.must(http.StatusCreated, e.team.Member, "POST", "/api/v1/tasks",
		map[string]any{"deal_id": e.memberDeal, "title": "Mine", "assignee_id": e.team.Member.ID})
	if tk["assignee_id"] != float64(e.team.Member.ID) {
		t.Fatalf("member's own task: %v", tk)
	}
	tk = e.must(http.StatusOK, e.team.Manager, "PATCH", taskPath(id(tk)), map[string]any{"assignee_id": e.team.Admin.ID})
	if tk["assignee_id"] != float64(e.team.Admin.ID) {
		t.Fatalf("reassigned by the manager: %v", tk)
	}
}

// An assignee outside the organization is a 400 naming assignee_id, on create and on update,
// and the table itself refuses one (a composite foreign key to the memberships).
func TestAssigneeMustBeAMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.task(e.ownerDeal, nil)
	for _, bad := range []int64{e.team.Outsider.ID, 999999999} {
		res := e.as(e.team.Owner, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.ownerDeal, "title": "X", "assignee_id": bad})
		m := apptest.WantProblem(t, res, http.StatusBadRequest, "assignee_not_member")
		if f := apptest.ProblemFields(m); len(f) != 1 || f[0] != "assignee_id" {
			t.Fatalf("create with assignee %d: fields %v", bad, f)
		}
		res = e.as(e.team.Owner, "PATCH", taskPath(id(tk)), map[string]any{"assignee_id": bad, "title": "Changed"})
		m = apptest.WantProblem(t, res, http.StatusBadRequest, "assignee_not_member")
		if f := apptest.ProblemFields(m); len(f) != 1 || f[0] != "assignee_id" {
			t.Fatalf("update with assignee %d: fields %v", bad, f)
		}
	}
	for _, body := range []map[string]any{{"assignee_id": nil}, {"assignee_id": 0}, {"assignee_id": "x"}} {
		apptest.WantProblem(t, e.as(e.team.Owner, "PATCH", taskPath(id(tk)), body), http.StatusBadRequest, "validation_failed")
	}
	if got := e.must(http.StatusOK, e.team.Owner, "GET", taskPath(id(tk)), nil); got["title"] != "Task" ||
		got["assignee_id"] != float64(e.team.Owner.ID) {
		t.Fatalf("refused writes changed the task: %v", got)
	}

	// Behind the service's back: the foreign key holds at commit.
	conn := owner(t, e)
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE tasks SET assignee_id = $1 WHERE id = $2", e.team.Outsider.ID, id(tk)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err == nil {
		t.Fatal("a task assigned to another organization's member was stored")
	}
}

// completed_at is set when is_done becomes true (to that write's updated_at), kept by other
// writes, cleared when is_done becomes false; a client sending it is refused.
func TestCompletedAtFollowsIsDone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.task(e.ownerDeal, nil)
	path := taskPath(id(tk))
	if _, ok := tk["completed_at"]; !ok || tk["completed_at"] != nil {
		t.Fatalf("new task: %v", tk)
	}
	done := e.must(http.StatusOK, e.team.Owner, "PATCH", path, map[string]any{"is_done": true})
	if done["completed_at"] == nil || done["completed_at"] != done["updated_at"] {
		t.Fatalf("done task: %v", done)
	}
	time.Sleep(1100 * time.Millisecond) // so that a new updated_at renders differently
	renamed := e.must(http.StatusOK, e.team.Owner, "PATCH", path, map[string]any{"title": "Renamed", "is_done": true})
	if renamed["completed_at"] != done["completed_at"] || renamed["updated_at"] == done["updated_at"] {
		t.Fatalf("renamed done task: %v, was %v", renamed, done)
	}
	open := e.must(http.StatusOK, e.team.Owner, "PATCH", path, map[string]any{"is_done": false})
	if _, ok := open["completed_at"]; !ok || open["completed_at"] != nil {
		t.Fatalf("reopened task: %v", open)
	}

	for _, req := range []struct{ method, path string }{{"POST", "/api/v1/tasks"}, {"PATCH", path}} {
		body := map[string]any{"deal_id": e.ownerDeal, "title": "X", "completed_at": "2030-01-15T10:00:00Z"}
		if req.method == "PATCH" {
			body = map[string]any{"is_done": true, "completed_at": nil}
		}
		m := apptest.WantProblem(t, e.as(e.team.Owner, req.method, req.path, body), http.StatusBadRequest, "read_only_field")
		if f := apptest.ProblemFields(m); len(f) != 1 || f[0] != "completed_at" {
			t.Fatalf("%s: fields %v", req.method, f)
		}
	}
	if got := e.must(http.StatusOK, e.team.Owner, "GET", path, nil); got["is_done"] != false {
		t.Fatalf("a refused PATCH changed the task: %v", got)
	}
}

// A member changes the tasks of deals they own and the tasks assigned to them, deletes only
// the former, creates tasks only for themselves and never hands a task to someone else.
func TestMemberMayChangeTasksAssignedToThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.team.Member
	theirs := e.task(e.ownerDeal, map[string]any{"assignee_id": m.ID})
	other := e.task(e.ownerDeal, nil)

	got := e.must(http.StatusOK, m, "PATCH", taskPath(id(theirs)), map[string]any{"title": "Called", "is_done": true, "due_date": "2030-02-01"})
	if got["title"] != "Called" || got["is_done"] != true || got["assignee_id"] != float64(m.ID) {
		t.Fatalf("member's assigned task: %v", got)
	}
	e.must(http.StatusOK, m, "PATCH", taskPath(id(theirs)), map[string]any{"assignee_id": m.ID})
	apptest.WantProblem(t, e.as(m, "PATCH", taskPath(id(theirs)), map[string]any{"assignee_id": e.team.Manager.ID}),
		http.StatusForbidden, "reassign_forbidden")
	apptest.WantProblem(t, e.as(m, "DELETE", taskPath(id(theirs)), nil), http.StatusForbidden, "not_owner")
	apptest.WantProblem(t, e.as(m, "PATCH", taskPath(id(other)), map[string]any{"title": "Mine"}), http.StatusForbidden, "not_owner")

	// On their own deal: any change, a task for themselves only.
	own := e.task(e.memberDeal, map[string]any{"assignee_id": e.team.Manager.ID})
	e.must(http.StatusOK, m, "PATCH", taskPath(id(own)), map[string]any{"title": "On my deal"})
	apptest.WantProblem(t, e.as(m, "PATCH", taskPath(id(own)), map[string]any{"assignee_id": m.ID}),
		http.StatusForbidden, "reassign_forbidden")
	apptest.WantProblem(t, e.as(m, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.memberDeal, "title": "X",
		"assignee_id": e.team.Manager.ID}), http.StatusForbidden, "create_for_other_forbidden")
	e.must(http.StatusNoContent, m, "DELETE", taskPath(id(own)), nil)

	// Managers and up act on any task, as before.
	for _, u := range []apptest.User{e.team.Manager, e.team.Admin, e.team.Owner} {
		e.must(http.StatusOK, u, "PATCH", taskPath(id(theirs)), map[string]any{"assignee_id": u.ID})
	}
}

// Removing a member hands their tasks, open and done, to the owner of each task's deal in
// the removal's transaction, each with its task.updated event; other tasks stay as they are.
func TestRemovingAMemberHandsTheirTasksToTheDealOwners(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.team.Member
	managerDeal := e.deal(e.team.Manager)
	a := e.task(e.ownerDeal, map[string]any{"assignee_id": m.ID})
	b := e.task(managerDeal, map[string]any{"assignee_id": m.ID})
	e.must(http.StatusOK, e.team.Owner, "PATCH", taskPath(id(b)), map[string]any{"is_done": true})
	c := e.task(e.ownerDeal, map[string]any{"assignee_id": e.team.Admin.ID})
	// The member's own deal goes to the admin first: a member who owns deals cannot be removed.
	e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(e.memberDeal), map[string]any{"owner_id": e.team.Admin.ID})
	d := e.task(e.memberDeal, map[string]any{"assignee_id": m.ID})

	feed := e.Follow(e.team.Owner.Token, e.team.OrgID)
	before := map[int64][]byte{}
	for _, tk := range []map[string]any{a, b, d} {
		before[id(tk)] = e.as(e.team.Owner, "GET", taskPath(id(tk)), nil).Body
	}
	e.must(http.StatusNoContent, e.team.Owner, "DELETE", fmt.Sprintf("/api/v1/organizations/%d/members/%d", e.team.OrgID, m.ID), nil)

	want := map[int64]int64{id(a): e.team.Owner.ID, id(b): e.team.Manager.ID, id(c): e.team.Admin.ID, id(d): e.team.Admin.ID}
	for tid, assignee := range want {
		if got := e.must(http.StatusOK, e.team.Owner, "GET", taskPath(tid), nil); got["assignee_id"] != float64(assignee) {
			t.Fatalf("task %d after the removal: %v, want assignee %d", tid, got, assignee)
		}
	}
	evs := feed.Next()
	wantTypes(t, evs, "member.removed", "task.updated", "task.updated", "task.updated")
	for i, tk := range []map[string]any{a, b, d} {
		ev := evs[i+1]
		after := e.as(e.team.Owner, "GET", taskPath(id(tk)), nil).Body
		ev.WantObject(t, after)
		ev.WantUser(t, e.team.Owner)
		ev.WantPrevious(t, before[id(tk)], after)
		if prev := ev.Previous(t); prev["assignee_id"] != float64(m.ID) {
			t.Fatalf("previous_attributes %v", prev)
		}
	}
	// The done task stays done, completed when it was.
	var was map[string]any
	if err := json.Unmarshal(before[id(b)], &was); err != nil {
		t.Fatal(err)
	}
	if got := e.must(http.StatusOK, e.team.Owner, "GET", taskPath(id(b)), nil); got["completed_at"] != was["completed_at"] || got["is_done"] != true {
		t.Fatalf("done task after the removal: %v", got)
	}

	// A member who still owns a deal cannot be removed: nothing is handed on.
	e.must(http.StatusConflict, e.team.Owner, "DELETE", fmt.Sprintf("/api/v1/organizations/%d/members/%d", e.team.OrgID, e.team.Manager.ID), nil)
	if got := e.must(http.StatusOK, e.team.Owner, "GET", taskPath(id(b)), nil); got["assignee_id"] != float64(e.team.Manager.ID) {
		t.Fatalf("refused removal changed a task: %v", got)
	}
}

// zoned is the orgs facade with the organization in a time zone.
type zoned struct {
	tasks.Orgs
	zone string
}

func (z zoned) Organization(ctx context.Context, orgID int64) (orgsapi.Organization, error) {
	o, err := z.Orgs.Organization(ctx, orgID)
	o.TimeZone = z.zone
	return o, err
}

// "Today" is the organization's: for the past-date rule, for an RFC 3339 due date with an
// offset, and for overdue.
func TestTodayIsTheOrganizationsDate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := time.LoadLocation("Asia/Tokyo"); err != nil {
		t.Skip("no time zone database:", err)
	}
	// 2030-01-15 20:00 UTC is 2030-01-16 05:00 in Tokyo.
	e.clock.Set(time.Date(2030, 1, 15, 20, 0, 0, 0, time.UTC))
	yesterday := e.task(e.ownerDeal, map[string]any{"due_date": "2030-01-15"}) // UTC: still today
	today := e.task(e.ownerDeal, map[string]any{"due_date": "2030-01-16"})
	e.svc.SetOrgs(zoned{Orgs: e.svc.Orgs(), zone: "Asia/Tokyo"})

	apptest.WantProblem(t, e.as(e.team.Owner, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.ownerDeal, "title": "X",
		"due_date": "2030-01-15"}), http.StatusBadRequest, "due_date_in_past")
	apptest.WantProblem(t, e.as(e.team.Owner, "PATCH", taskPath(id(today)), map[string]any{"due_date": "2030-01-15"}),
		http.StatusBadRequest, "due_date_in_past")
	// 2030-01-15T16:00:00Z is 01:00 on the 16th in Tokyo: today there.
	tk := e.task(e.ownerDeal, map[string]any{"due_date": "2030-01-15T16:00:00Z"})
	if tk["due_date"] != "2030-01-16" {
		t.Fatalf("instant's date in Tokyo: %v", tk)
	}
	// 2030-01-17T01:00:00+09:00 is the 17th in Tokyo, the 16th in UTC.
	tk = e.must(http.StatusOK, e.team.Owner, "PATCH", taskPath(id(tk)), map[string]any{"due_date": "2030-01-17T01:00:00+09:00"})
	if tk["due_date"] != "2030-01-17" {
		t.Fatalf("patched instant's date in Tokyo: %v", tk)
	}
	// A date-time without an offset is its own date.
	tk = e.task(e.ownerDeal, map[string]any{"due_date": "2030-01-16T23:30:00"})
	if tk["due_date"] != "2030-01-16" {
		t.Fatalf("wall-clock date-time: %v", tk)
	}

	res := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/tasks?overdue=true", nil)
	if items := res["items"].([]any); len(items) != 1 || id(items[0].(map[string]any)) != id(yesterday) {
		t.Fatalf("overdue in Tokyo: %v", items)
	}
	// Query dates are read there too: 2030-01-15T16:00:00Z is the 16th.
	res = e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/tasks?due_after=2030-01-15T16:00:00Z&due_before=2030-01-16", nil)
	if items := res["items"].([]any); len(items) != 2 || id(items[0].(map[string]any)) != id(today) {
		t.Fatalf("due on the 16th in Tokyo: %v", items)
	}
}

// A task created for a member while that member is being removed either is refused (the
// member is gone: 400 assignee_not_member) or was stored first and is handed on with the
// member's other tasks: never an error of the server, never a task left with a non-member.
func TestCreatingForAMemberBeingRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 4 {
		u := e.Register(fmt.Sprintf("leaver%d", i))
		e.AddMember(e.team.Owner, e.team.OrgID, u, "member")
		var wg sync.WaitGroup
		statuses := make([]int, 6)
		ids := make([]int64, len(statuses))
		for j := range statuses {
			wg.Go(func() {
				res := e.as(e.team.Manager, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.ownerDeal, "title": "Race", "assignee_id": u.ID})
				statuses[j] = res.Status
				if res.Status == http.StatusCreated {
					ids[j] = id(res.JSON())
				} else if res.Code() != "assignee_not_member" {
					t.Errorf("create during the removal: %d %s", res.Status, res.Body)
				}
			})
		}
		wg.Go(func() {
			e.must(http.StatusNoContent, e.team.Owner, "DELETE", fmt.Sprintf("/api/v1/organizations/%d/members/%d", e.team.OrgID, u.ID), nil)
		})
		wg.Wait()
		t.Logf("round %d: %v", i, statuses)
		for j, tid := range ids {
			if statuses[j] != http.StatusCreated {
				continue
			}
			if got := e.must(http.StatusOK, e.team.Owner, "GET", taskPath(tid), nil); got["assignee_id"] != float64(e.team.Owner.ID) {
				t.Fatalf("task %d created during the removal: %v", tid, got)
			}
		}
	}
}
