package tasks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func wantTypes(t *testing.T, evs []apptest.Event, want ...string) {
	t.Helper()
	if got := apptest.Types(evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// Every create, update and delete of a task writes one event carrying the task as its GET
// renders it, with the caller as actor (a create also its task_created activity's); an
// update lists the old value of every field it changed; a write that changes nothing or
// fails writes none.
func TestTaskWritesRecordTheirEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	feed := e.Follow(e.team.Owner.Token, e.team.OrgID)
	member := e.team.Member

	tk := e.must(http.StatusCreated, member, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.memberDeal, "title": "Call", "due_date": "2030-02-01"})
	path := taskPath(id(tk))
	evs := feed.Next()
	wantTypes(t, evs, "task.created", "activity.created")
	evs[0].WantObject(t, e.as(member, "GET", path, nil).Body)
	if obj := evs[0].Object(t); obj["assignee_id"] != float64(member.ID) || obj["completed_at"] != nil {
		t.Fatalf("created task %v: want the member as assignee and no completed_at", obj)
	}
	acts := e.activities(e.memberDeal)
	if acts[0]["type"] != "task_created" {
		t.Fatalf("newest activity %v", acts[0])
	}
	timelineItem, err := json.Marshal(acts[0])
	if err != nil {
		t.Fatal(err)
	}
	evs[1].WantObject(t, timelineItem)
	for _, ev := range evs {
		ev.WantUser(t, member)
		if ev.Previous(t) != nil {
			t.Fatalf("%s carries previous_attributes", ev.Type)
		}
	}

	conn, err := pgx.Connect(context.Background(), e.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "UPDATE tasks SET updated_at = updated_at - interval '1 hour' WHERE id = $1", id(tk)); err != nil {
		t.Fatal(err)
	}
	before := e.as(member, "GET", path, nil).Body
	e.must(http.StatusOK, member, "PATCH", path, map[string]any{"is_done": true, "due_date": nil, "title": "Call"})
	after := e.as(member, "GET", path, nil).Body
	evs = feed.Next()
	wantTypes(t, evs, "task.updated")
	evs[0].WantObject(t, after)
	evs[0].WantUser(t, member)
	evs[0].WantPrevious(t, before, after)
	prev := evs[0].Previous(t)
	if done, had := prev["completed_at"]; len(prev) != 4 || prev["is_done"] != false || prev["due_date"] != "2030-02-01" ||
		prev["updated_at"] == nil || !had || done != nil {
		t.Fatalf("previous_attributes %v", prev)
	}
	if obj := evs[0].Object(t); obj["completed_at"] == nil || obj["completed_at"] != obj["updated_at"] {
		t.Fatalf("completed task %v: completed_at is the updated_at of the write that completed it", obj)
	}

	// Nothing changes, or the write is refused (inside the transaction too): no event.
	e.must(http.StatusOK, member, "PATCH", path, map[string]any{"is_done": true})
	owners := e.task(e.ownerDeal, nil)
	feed.Next()
	e.must(http.StatusForbidden, member, "PATCH", taskPath(id(owners)), map[string]any{"title": "Mine"})
	e.must(http.StatusForbidden, member, "DELETE", taskPath(id(owners)), nil)
	e.must(http.StatusForbidden, member, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.ownerDeal, "title": "X"})
	e.must(http.StatusBadRequest, member, "PATCH", path, map[string]any{"due_date": "2020-01-01"})
	if evs := feed.Next(); len(evs) != 0 {
		t.Fatalf("writes that changed nothing or failed recorded %v", apptest.Types(evs))
	}

	last := e.as(member, "GET", path, nil).Body
	e.must(http.StatusNoContent, member, "DELETE", path, nil)
	evs = feed.Next()
	wantTypes(t, evs, "task.deleted")
	evs[0].WantObject(t, last)
	evs[0].WantUser(t, member)
	if evs[0].Previous(t) != nil {
		t.Fatal("a delete carries previous_attributes")
	}
}
