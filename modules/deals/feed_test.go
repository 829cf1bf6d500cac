package deals_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func wantTypes(t *testing.T, evs []apptest.Event, want ...string) {
	t.Helper()
	if got := apptest.Types(evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// activityBody is the deal's activity with the given id as the timeline renders it.
func (e env) activityBody(dealID, activityID int64) []byte {
	e.T.Helper()
	var page struct{ Items []json.RawMessage }
	e.as(e.team.Owner, "GET", activitiesPath(dealID)+"?page_size=100", nil).Decode(e.T, &page)
	for _, raw := range page.Items {
		var a struct{ ID int64 }
		_ = json.Unmarshal(raw, &a)
		if a.ID == activityID {
			return raw
		}
	}
	e.T.Fatalf("deal %d has no activity %d", dealID, activityID)
	return nil
}

// wantActivity checks an activity.created event against the timeline's rendering of the
// activity it carries and returns that activity's type.
func (e env) wantActivity(ev apptest.Event, dealID int64) string {
	e.T.Helper()
	obj := ev.Object(e.T)
	ev.WantObject(e.T, e.activityBody(dealID, num(obj["id"])))
	return obj["type"].(string)
}

// Every create, update and delete of a deal writes one event carrying the deal as its GET
// renders it, each activity the write appends its activity.created, with the caller as
// actor; the tasks a delete takes with it write task.deleted each; a write that changes
// nothing or fails writes none.
func TestDealWritesRecordTheirEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	feed := e.Follow(e.team.Owner.Token, e.team.OrgID)
	member := e.team.Member

	d := e.deal(member, map[string]any{"stage": "proposal"})
	path := dealPath(id(d))
	evs := feed.Next()
	wantTypes(t, evs, "deal.created", "activity.created")
	evs[0].WantObject(t, e.as(member, "GET", path, nil).Body)
	if typ := e.wantActivity(evs[1], id(d)); typ != "system" {
		t.Fatalf("activity %s, want the system's deal_created", typ)
	}
	for _, ev := range evs {
		ev.WantUser(t, member)
		if ev.Previous(t) != nil {
			t.Fatalf("%s carries previous_attributes", ev.Type)
		}
	}

	if _, err := e.sql.Exec(t.Context(), "UPDATE deals SET updated_at = updated_at - interval '1 hour', stage_entered_at = stage_entered_at - interval '1 hour' WHERE id = $1", id(d)); err != nil {
		t.Fatal(err)
	}
	before := e.as(member, "GET", path, nil).Body
	e.must(http.StatusOK, member, "PATCH", path, map[string]any{"stage": "negotiation", "status": "in_progress", "title": "Bigger"})
	after := e.as(member, "GET", path, nil).Body
	evs = feed.Next()
	wantTypes(t, evs, "deal.updated", "activity.created", "activity.created", "activity.created")
	evs[0].WantObject(t, after)
	evs[0].WantPrevious(t, before, after)
	prev := evs[0].Previous(t)
	// The stage's probability (in effect without an override) and the time the stage was
	// entered change with the stage.
	if len(prev) != 6 || prev["stage"] != "proposal" || prev["status"] != "new" || prev["title"] != "Deal" || prev["updated_at"] == nil ||
		prev["effective_probability"] != float64(30) || prev["stage_entered_at"] == nil {
		t.Fatalf("previous_attributes %v", prev)
	}
	var acts []string
	for _, ev := range evs {
		ev.WantUser(t, member)
		if ev.Type == "activity.created" {
			acts = append(acts, e.wantActivity(ev, id(d)))
		}
	}
	slices.Sort(acts)
	if !slices.Equal(acts, []string{"deal_updated", "stage_changed", "status_changed"}) {
		t.Fatalf("activities %v", acts)
	}

	// A comment is an activity too.
	e.must(http.StatusCreated, member, "POST", activitiesPath(id(d)), map[string]any{"type": "comment", "payload": map[string]any{"text": "hi"}})
	evs = feed.Next()
	wantTypes(t, evs, "activity.created")
	evs[0].WantUser(t, member)
	if typ := e.wantActivity(evs[0], id(d)); typ != "comment" {
		t.Fatalf("activity %s", typ)
	}

	// Nothing changes, or the write is refused (some inside the transaction): no event.
	e.must(http.StatusOK, member, "PATCH", path, map[string]any{"stage": "negotiation", "title": "Bigger"})
	e.must(http.StatusForbidden, member, "PATCH", path, map[string]any{"stage": "qualification"})
	stale := e.Do(apptest.Req{Method: "PATCH", Path: path, Token: member.Token, Org: e.team.OrgID,
		Body: map[string]any{"title": "x"}, Headers: map[string]string{"If-Match": `"not-the-tag"`}})
	apptest.WantProblem(t, stale, http.StatusPreconditionFailed, "precondition_failed")
	e.must(http.StatusBadRequest, member, "POST", activitiesPath(id(d)), map[string]any{"type": "comment", "payload": map[string]any{"text": ""}})
	e.must(http.StatusNotFound, member, "POST", "/api/v1/deals", map[string]any{"contact_id": 999999, "title": "D", "amount": "1.00"})
	if evs := feed.Next(); len(evs) != 0 {
		t.Fatalf("writes that changed nothing or failed recorded %v", apptest.Types(evs))
	}

	// A delete takes the deal's tasks with it: each writes its task.deleted, in its last
	// state, then the deal's deleted event; the activities go silently with the deal.
	var tasks []int64
	for i := range 2 {
		tk := e.must(http.StatusCreated, member, "POST", "/api/v1/tasks", map[string]any{"deal_id": id(d), "title": fmt.Sprint("T", i)})
		tasks = append(tasks, id(tk))
	}
	e.must(http.StatusOK, member, "PATCH", fmt.Sprintf("/api/v1/tasks/%d", tasks[1]), map[string]any{"is_done": true})
	feed.Next()
	var lastTasks [][]byte
	for _, tk := range tasks {
		lastTasks = append(lastTasks, e.as(member, "GET", fmt.Sprintf("/api/v1/tasks/%d", tk), nil).Body)
	}
	last := e.as(member, "GET", path, nil).Body
	e.must(http.StatusNoContent, member, "DELETE", path, nil)
	evs = feed.Next()
	wantTypes(t, evs, "task.deleted", "task.deleted", "deal.deleted")
	for i, ev := range evs {
		ev.WantUser(t, member)
		if ev.Previous(t) != nil {
			t.Fatalf("%s carries previous_attributes", ev.Type)
		}
		if i < 2 {
			ev.WantObject(t, lastTasks[i])
		}
	}
	evs[2].WantObject(t, last)
}

// A write made with an API key has the key as the actor of its events.
func TestEventsOfAnAPIKeysWriteNameTheKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: fmt.Sprintf("/api/v1/organizations/%d/api-keys", e.team.OrgID),
		Token: e.team.Owner.Token, Body: map[string]any{"name": "integration", "role": "admin"}})
	var key struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	res.Decode(t, &key)
	feed := e.Follow(e.team.Owner.Token, e.team.OrgID)
	d := e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: key.Token,
		Body: map[string]any{"contact_id": e.contact, "title": "By key", "amount": "5.00"}}).JSON()
	evs := feed.Next()
	wantTypes(t, evs, "deal.created", "activity.created")
	evs[0].WantObject(t, e.as(e.team.Owner, "GET", dealPath(id(d)), nil).Body)
	for _, ev := range evs {
		if ev.Actor.Type != "api_key" || ev.Actor.ID == nil || *ev.Actor.ID != key.ID {
			t.Fatalf("%s: actor %+v, want api_key %d", ev.Type, ev.Actor, key.ID)
		}
	}
}
