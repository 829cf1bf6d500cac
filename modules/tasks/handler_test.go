package tasks_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func TestCreateEveryRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range roles {
		u := e.team.As(role)
		// On a deal the member owns, every role may add a task.
		res := e.as(u, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.memberDeal, "title": "  Call " + role + " ",
			"description": "Discuss the proposal", "due_date": "2030-01-20"})
		if res.Status != http.StatusCreated {
			t.Fatalf("%s: %d %s", role, res.Status, res.Body)
		}
		conforms(t, "Task", res.Body)
		tk := res.JSON()
		want := map[string]any{"deal_id": float64(e.memberDeal), "title": "Call " + role, "description": "Discuss the proposal",
			"due_date": "2030-01-20", "is_done": false, "assignee_id": float64(e.team.Member.ID), "completed_at": nil}
		for k, v := range want {
			if tk[k] != v {
				t.Fatalf("%s: %s = %v, want %v (%v)", role, k, tk[k], v, tk)
			}
		}
		if len(tk) != 10 || !strings.HasSuffix(tk["created_at"].(string), "Z") || tk["updated_at"] != tk["created_at"] {
			t.Fatalf("%s: representation %v", role, tk)
		}
		if res.Header.Get("Location") != taskPath(id(tk)) {
			t.Fatalf("%s: Location %q", role, res.Header.Get("Location"))
		}
		if got := e.must(http.StatusOK, u, "GET", taskPath(id(tk)), nil); !reflect.DeepEqual(got, tk) {
			t.Fatalf("%s: read back %v, created %v", role, got, tk)
		}

		// On a deal someone else owns, only the member is refused.
		res = e.as(u, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.ownerDeal, "title": "Follow up"})
		if role == "member" {
			m := apptest.WantProblem(t, res, http.StatusForbidden, "not_owner")
			if !strings.Contains(m["detail"].(string), "deals they own") {
				t.Fatalf("detail %v", m["detail"])
			}
			continue
		}
		if res.Status != http.StatusCreated {
			t.Fatalf("%s on the owner's deal: %d %s", role, res.Status, res.Body)
		}
	}
	// The member's refused attempt left nothing behind.
	list := e.must(http.StatusOK, e.team.Owner, "GET", fmt.Sprintf("/api/v1/tasks?deal_id=%d", e.ownerDeal), nil)
	if list["total"] != float64(3) {
		t.Fatalf("tasks on the owner's deal: %v", list)
	}
	res := e.Do(apptest.Req{Method: "POST", Path: "/api/v1/tasks", Token: e.team.Outsider.Token, Org: e.team.OrgID,
		Body: map[string]any{"deal_id": e.ownerDeal, "title": "x"}})
	apptest.WantProblem(t, res, http.StatusForbidden, "not_a_member")
}

func TestCreateDefaultsAndTimeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.task(e.ownerDeal, nil)
	if tk["description"] != nil || tk["due_date"] != nil || tk["is_done"] != false {
		t.Fatalf("defaults %v", tk)
	}
	for _, k := range []string{"description", "due_date"} {
		if _, ok := tk[k]; !ok {
			t.Fatalf("%s is missing instead of null: %v", k, tk)
		}
	}
	tk2 := e.task(e.ownerDeal, map[string]any{"title": "Dated", "description": nil, "due_date": "2030-01-15T23:30:00-01:00"})
	if tk2["due_date"] != "2030-01-16" || tk2["description"] != nil {
		t.Fatalf("dated task %v", tk2)
	}

	acts := e.activities(e.ownerDeal)
	var got []map[string]any
	for _, a := range acts {
		if a["type"] == "task_created" {
			got = append(got, a)
		}
	}
	if len(got) != 2 {
		t.Fatalf("timeline %v", acts)
	}
	// Newest first: the dated task, then the undated one.
	wantPayloads := []map[string]any{
		{"task_id": float64(id(tk2)), "title": "Dated", "due_date": "2030-01-16"},
		{"task_id": float64(id(tk)), "title": "Task", "due_date": nil},
	}
	for i, a := range got {
		if !reflect.DeepEqual(a["payload"], wantPayloads[i]) || a["author_id"] != float64(e.team.Owner.ID) || a["deal_id"] != float64(e.ownerDeal) {
			t.Fatalf("activity %d: %v", i, a)
		}
	}
	// A member's task is recorded with the member as author.
	e.must(http.StatusCreated, e.team.Member, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.memberDeal, "title": "Mine"})
	a := e.activities(e.memberDeal)[0]
	if a["type"] != "task_created" || a["author_id"] != float64(e.team.Member.ID) {
		t.Fatalf("member's activity %v", a)
	}
}

func TestCreateDealNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A deal of the outsider's own organization.
	out := e.team.Outsider
	contact := e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"name": "Theirs"}}).JSON()
	foreign := id(e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"contact_id": id(contact), "title": "Theirs", "amount": 1}}).JSON())

	for _, role := range roles {
		u := e.team.As(role)
		a := e.as(u, "POST", "/api/v1/tasks", map[string]any{"deal_id": foreign, "title": "x"})
		m := apptest.WantProblem(t, a, http.StatusNotFound, "deal_not_found")
		if !strings.Contains(m["detail"].(string), "deal") {
			t.Fatalf("detail %v", m["detail"])
		}
		b := e.as(u, "POST", "/api/v1/tasks", map[string]any{"deal_id": foreign + 1000000, "title": "x"})
		apptest.SameProblem(t, a, b)
	}
	// Nothing was written in either organization.
	if n := count(t, e, "SELECT count(*) FROM tasks"); n != 0 {
		t.Fatalf("%d tasks in the database", n)
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := func(kv ...any) map[string]any {
		m := map[string]any{"deal_id": e.ownerDeal, "title": "Task"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<absent>" {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		fields []string
	}{
		{"deal missing", base("deal_id", "<absent>"), 400, "validation_failed", []string{"deal_id"}},
		{"deal zero", base("deal_id", 0), 400, "validation_failed", []string{"deal_id"}},
		{"deal negative", base("deal_id", -3), 400, "validation_failed", []string{"deal_id"}},
		{"deal a string", base("deal_id", "1"), 400, "validation_failed", []string{"deal_id"}},
		{"deal a fraction", base("deal_id", 1.5), 400, "validation_failed", []string{"deal_id"}},
		{"title missing", base("title", "<absent>"), 400, "validation_failed", []string{"title"}},
		{"title null", base("title", nil), 400, "validation_failed", []string{"title"}},
		{"title blank", base("title", " \t "), 400, "validation_failed", []string{"title"}},
		{"title too long", base("title", strings.Repeat("t", 201)), 400, "validation_failed", []string{"title"}},
		{"title a number", base("title", 5), 400, "validation_failed", []string{"title"}},
		{"description too long", base("description", strings.Repeat("d", 5001)), 400, "validation_failed", []string{"description"}},
		{"description a number", base("description", 5), 400, "validation_failed", []string{"description"}},
		{"due date malformed", base("due_date", "15.01.2030"), 400, "validation_failed", []string{"due_date"}},
		{"due date impossible", base("due_date", "2030-02-30"), 400, "validation_failed", []string{"due_date"}},
		{"due date a number", base("due_date", 20300115), 400, "validation_failed", []string{"due_date"}},
		{"due date empty", base("due_date", ""), 400, "validation_failed", []string{"due_date"}},
		{"due date in the past", base("due_date", "2030-01-14"), 400, "due_date_in_past", []string{"due_date"}},
		{"is_done is not settable on create", base("is_done", true), 400, "unknown_field", []string{"is_done"}},
		{"id", base("id", 5), 400, "unknown_field", []string{"id"}},
		{"organization_id", base("organization_id", 5), 400, "unknown_field", []string{"organization_id"}},
		{"created_at", base("created_at", "2030-01-01T00:00:00Z"), 400, "unknown_field", []string{"created_at"}},
		{"several at once", base("deal_id", 0, "title", ""), 400, "validation_failed", []string{"deal_id", "title"}},
		{"not an object", `[1]`, 400, "malformed_json", nil},
		{"broken json", `{"title":`, 400, "malformed_json", nil},
		{"empty body", ``, 400, "malformed_json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.as(e.team.Owner, "POST", "/api/v1/tasks", tt.body)
			m := apptest.WantProblem(t, res, tt.status, tt.code)
			got := apptest.ProblemFields(m)
			slices.Sort(got)
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %v, want %v; body %s", got, tt.fields, res.Body)
			}
		})
	}
	// The limits themselves are accepted, in characters rather than bytes.
	tk := e.task(e.ownerDeal, map[string]any{"title": strings.Repeat("é", 200), "description": strings.Repeat("ü", 5000)})
	if len([]rune(tk["title"].(string))) != 200 || len([]rune(tk["description"].(string))) != 5000 {
		t.Fatal("limits not kept")
	}
	res := e.Do(apptest.Req{Method: "POST", Path: "/api/v1/tasks", Token: e.team.Owner.Token, Org: e.team.OrgID,
		Body: `{"deal_id":1,"title":"x"}`, Headers: map[string]string{"Content-Type": "text/plain"}})
	apptest.WantProblem(t, res, http.StatusUnsupportedMediaType, "unsupported_media_type")
}

// The past-date rule at the UTC day boundary, in both input formats, on create and PATCH.
func TestDueDateAtMidnightUTC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	create := func(due any) apptest.Response {
		return e.as(e.team.Owner, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.ownerDeal, "title": "Due", "due_date": due})
	}
	past := func(res apptest.Response) {
		t.Helper()
		m := apptest.WantProblem(t, res, http.StatusBadRequest, "due_date_in_past")
		if !strings.Contains(m["detail"].(string), "past") || !slices.Equal(apptest.ProblemFields(m), []string{"due_date"}) {
			t.Fatalf("problem %v", m)
		}
	}
	accepted := func(res apptest.Response, want any) map[string]any {
		t.Helper()
		if res.Status != http.StatusCreated && res.Status != http.StatusOK {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
		m := res.JSON()
		if m["due_date"] != want {
			t.Fatalf("due_date %v, want %s", m["due_date"], want)
		}
		return m
	}

	// The last nanosecond of 2030-01-15 UTC.
	e.clock.Set(time.Date(2030, 1, 15, 23, 59, 59, 999999999, time.UTC))
	today := accepted(create("2030-01-15"), "2030-01-15")
	accepted(create("2030-01-15T00:00:00Z"), "2030-01-15")
	accepted(create("2030-01-15T00:00:00"), "2030-01-15") // no offset: UTC
	accepted(create("2030-01-16T01:00:00+02:00"), "2030-01-15")
	past(create("2030-01-14"))
	past(create("2030-01-14T23:59:59Z"))
	past(create("2030-01-15T00:30:00+01:00")) // 2030-01-14T23:30Z

	// Midnight UTC: 2030-01-15 is now yesterday.
	e.clock.Set(time.Date(2030, 1, 16, 0, 0, 0, 0, time.UTC))
	past(create("2030-01-15"))
	past(create("2030-01-16T01:30:00+02:00")) // 2030-01-15T23:30Z
	accepted(create("2030-01-16"), "2030-01-16")
	accepted(create("2030-01-15T23:30:00-01:00"), "2030-01-16")
	accepted(create("2030-01-16T00:00:00"), "2030-01-16")
	accepted(create(nil), nil)

	// The task due yesterday stays editable.
	path := taskPath(id(today))
	patch := func(body any) apptest.Response { return e.as(e.team.Owner, "PATCH", path, body) }
	accepted(patch(map[string]any{"title": "Renamed"}), "2030-01-15")
	accepted(patch(map[string]any{"is_done": true}), "2030-01-15")
	accepted(patch(map[string]any{"description": "late"}), "2030-01-15")
	accepted(patch(map[string]any{"due_date": "2030-01-15"}), "2030-01-15")
	accepted(patch(map[string]any{"due_date": "2030-01-15T10:00:00Z"}), "2030-01-15")
	// A client sending back the whole object it read.
	whole := e.must(http.StatusOK, e.team.Owner, "GET", path, nil)
	accepted(patch(map[string]any{"title": whole["title"], "description": whole["description"], "due_date": whole["due_date"], "is_done": false}), "2030-01-15")
	// The same date in another notation is the same date.
	accepted(patch(map[string]any{"due_date": "2030-01-16T00:30:00+01:00"}), "2030-01-15")
	// It cannot be moved to another past date, and the refused patch changes nothing.
	past(patch(map[string]any{"title": "Not saved", "due_date": "2030-01-14"}))
	if got := e.must(http.StatusOK, e.team.Owner, "GET", path, nil); got["title"] != "Renamed" || got["due_date"] != "2030-01-15" {
		t.Fatalf("after a refused patch: %v", got)
	}
	// Moving it to today works; once cleared, yesterday is a new past date.
	accepted(patch(map[string]any{"due_date": "2030-01-16"}), "2030-01-16")
	accepted(patch(map[string]any{"due_date": nil}), nil)
	past(patch(map[string]any{"due_date": "2030-01-15"}))
	accepted(patch(map[string]any{"due_date": "2030-01-17T00:00:00Z"}), "2030-01-17")
}

func TestGetEveryRoleAndIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.task(e.ownerDeal, map[string]any{"due_date": "2030-02-01"})
	for _, role := range roles {
		res := e.as(e.team.As(role), "GET", taskPath(id(tk)), nil)
		if res.Status != http.StatusOK || !reflect.DeepEqual(res.JSON(), tk) {
			t.Fatalf("%s: %d %s", role, res.Status, res.Body)
		}
		conforms(t, "Task", res.Body)
	}
	out := e.team.Outsider
	// In their own organization the task does not exist, exactly like an id never used.
	a := e.Do(apptest.Req{Method: "GET", Path: taskPath(id(tk)), Token: out.Token, Org: out.OrgID})
	apptest.WantProblem(t, a, http.StatusNotFound, "task_not_found")
	b := e.Do(apptest.Req{Method: "GET", Path: taskPath(id(tk) + 1000000), Token: out.Token, Org: out.OrgID})
	apptest.SameProblem(t, a, b)
	for _, method := range []string{"PATCH", "DELETE"} {
		var body any
		if method == "PATCH" {
			body = map[string]any{"title": "stolen"}
		}
		a := e.Do(apptest.Req{Method: method, Path: taskPath(id(tk)), Token: out.Token, Org: out.OrgID, Body: body})
		apptest.WantProblem(t, a, http.StatusNotFound, "task_not_found")
		b := e.Do(apptest.Req{Method: method, Path: taskPath(id(tk) + 1000000), Token: out.Token, Org: out.OrgID, Body: body})
		apptest.SameProblem(t, a, b)
	}
	// In the team's organization they are no member.
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: taskPath(id(tk)), Token: out.Token, Org: e.team.OrgID}), http.StatusForbidden, "not_a_member")
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: taskPath(id(tk))}), http.StatusUnauthorized, "missing_token")
	for _, bad := range []string{"abc", "0", "-1", "1.5", "99999999999999999999"} {
		apptest.WantProblem(t, e.as(e.team.Owner, "GET", "/api/v1/tasks/"+bad, nil), http.StatusNotFound, "not_found")
	}
	// The task survived all of it.
	if got := e.must(http.StatusOK, e.team.Owner, "GET", taskPath(id(tk)), nil); !reflect.DeepEqual(got, tk) {
		t.Fatalf("task changed: %v", got)
	}
}

func TestUpdateEveryRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	onOwners := e.task(e.ownerDeal, nil)
	onMembers := e.task(e.memberDeal, nil)
	for _, role := range roles {
		u := e.team.As(role)
		res := e.as(u, "PATCH", taskPath(id(onMembers)), map[string]any{"title": "by " + role})
		if res.Status != http.StatusOK || res.JSON()["title"] != "by "+role {
			t.Fatalf("%s on the member's deal: %d %s", role, res.Status, res.Body)
		}
		conforms(t, "Task", res.Body)
		res = e.as(u, "PATCH", taskPath(id(onOwners)), map[string]any{"title": "by " + role})
		if role == "member" {
			apptest.WantProblem(t, res, http.StatusForbidden, "not_owner")
			continue
		}
		if res.Status != http.StatusOK || res.JSON()["title"] != "by "+role {
			t.Fatalf("%s on the owner's deal: %d %s", role, res.Status, res.Body)
		}
	}
	if got := e.must(http.StatusOK, e.team.Member, "GET", taskPath(id(onOwners)), nil)["title"]; got != "by manager" {
		t.Fatalf("the member's refused patch was written: %v", got)
	}
	// The refusal does not depend on what the patch holds, nor on whether it changes anything.
	apptest.WantProblem(t, e.as(e.team.Member, "PATCH", taskPath(id(onOwners)), map[string]any{}), http.StatusForbidden, "not_owner")
	apptest.WantProblem(t, e.as(e.team.Member, "PATCH", taskPath(id(onOwners)), map[string]any{"due_date": "2000-01-01"}), http.StatusForbidden, "not_owner")
}

func TestUpdateFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.task(e.ownerDeal, map[string]any{"description": "notes", "due_date": "2030-01-20"})
	path := taskPath(id(tk))
	patch := func(body any) map[string]any { return e.must(http.StatusOK, e.team.Owner, "PATCH", path, body) }

	// updated_at as stored, finer than the whole seconds of the API.
	updatedAt := func() time.Time {
		var at time.Time
		if err := owner(t, e).QueryRow(context.Background(), "SELECT updated_at FROM tasks WHERE id = $1", id(tk)).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	created := updatedAt()

	// An empty patch and a patch repeating the current values change nothing, updated_at included.
	if got := patch(map[string]any{}); !reflect.DeepEqual(got, tk) {
		t.Fatalf("empty patch: %v", got)
	}
	if got := patch(map[string]any{"title": " Task ", "description": "notes", "due_date": "2030-01-20", "is_done": false}); !reflect.DeepEqual(got, tk) {
		t.Fatalf("same values: %v", got)
	}
	if !updatedAt().Equal(created) {
		t.Fatal("a patch that changes nothing bumped updated_at")
	}

	got := patch(map[string]any{"is_done": true, "title": "  Done  "})
	if got["is_done"] != true || got["title"] != "Done" || got["description"] != "notes" || got["due_date"] != "2030-01-20" {
		t.Fatalf("patched %v", got)
	}
	if !updatedAt().After(created) || got["created_at"] != tk["created_at"] {
		t.Fatalf("timestamps %v / %v", got, tk)
	}
	got = patch(map[string]any{"description": nil, "due_date": nil})
	if got["description"] != nil || got["due_date"] != nil || got["title"] != "Done" || got["is_done"] != true {
		t.Fatalf("cleared %v", got)
	}
	got = patch(map[string]any{"description": "", "is_done": false, "due_date": "2030-03-01T08:00:00+03:00"})
	if got["description"] != "" || got["is_done"] != false || got["due_date"] != "2030-03-01" {
		t.Fatalf("set again %v", got)
	}
	if !reflect.DeepEqual(e.must(http.StatusOK, e.team.Owner, "GET", path, nil), got) {
		t.Fatal("read back differs")
	}

	tests := []struct {
		name   string
		body   any
		code   string
		fields []string
	}{
		{"title null", map[string]any{"title": nil}, "validation_failed", []string{"title"}},
		{"title blank", map[string]any{"title": "  "}, "validation_failed", []string{"title"}},
		{"title too long", map[string]any{"title": strings.Repeat("x", 201)}, "validation_failed", []string{"title"}},
		{"is_done null", map[string]any{"is_done": nil}, "validation_failed", []string{"is_done"}},
		{"is_done a string", map[string]any{"is_done": "yes"}, "validation_failed", []string{"is_done"}},
		{"description too long", map[string]any{"description": strings.Repeat("x", 5001)}, "validation_failed", []string{"description"}},
		{"due date malformed", map[string]any{"due_date": "2030-1-5"}, "validation_failed", []string{"due_date"}},
		{"due date in the past", map[string]any{"due_date": "2030-01-14"}, "due_date_in_past", []string{"due_date"}},
		{"deal cannot move", map[string]any{"deal_id": e.memberDeal}, "unknown_field", []string{"deal_id"}},
		{"id", map[string]any{"id": 1}, "unknown_field", []string{"id"}},
		{"several at once", map[string]any{"title": nil, "is_done": nil, "description": strings.Repeat("x", 5001)}, "validation_failed", []string{"description", "is_done", "title"}},
		{"not an object", `"x"`, "malformed_json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := apptest.WantProblem(t, e.as(e.team.Owner, "PATCH", path, tt.body), http.StatusBadRequest, tt.code)
			f := apptest.ProblemFields(m)
			slices.Sort(f)
			if !slices.Equal(f, tt.fields) {
				t.Fatalf("fields %v, want %v: %v", f, tt.fields, m)
			}
		})
	}
	if !reflect.DeepEqual(e.must(http.StatusOK, e.team.Owner, "GET", path, nil), got) {
		t.Fatal("a refused patch changed the task")
	}
	apptest.WantProblem(t, e.as(e.team.Owner, "PATCH", taskPath(id(tk)+1000), map[string]any{"title": "x"}), http.StatusNotFound, "task_not_found")
}

// Who may change a task is decided by who owns its deal now, not when the task was made
// (the task is assigned to someone else, which would let the member change it too).
func TestPermissionFollowsTheDealsCurrentOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.task(e.memberDeal, map[string]any{"assignee_id": e.team.Owner.ID})
	path := taskPath(id(tk))
	e.must(http.StatusOK, e.team.Member, "PATCH", path, map[string]any{"is_done": true})

	e.must(http.StatusOK, e.team.Manager, "PATCH", dealPath(e.memberDeal), map[string]any{"owner_id": e.team.Manager.ID})
	apptest.WantProblem(t, e.as(e.team.Member, "PATCH", path, map[string]any{"is_done": false}), http.StatusForbidden, "not_owner")
	apptest.WantProblem(t, e.as(e.team.Member, "DELETE", path, nil), http.StatusForbidden, "not_owner")
	apptest.WantProblem(t, e.as(e.team.Member, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.memberDeal, "title": "x"}), http.StatusForbidden, "not_owner")
	e.must(http.StatusOK, e.team.Member, "GET", path, nil) // reading stays open

	e.must(http.StatusOK, e.team.Manager, "PATCH", dealPath(e.memberDeal), map[string]any{"owner_id": e.team.Member.ID})
	e.must(http.StatusOK, e.team.Member, "PATCH", path, map[string]any{"is_done": false})
	e.must(http.StatusNoContent, e.team.Member, "DELETE", path, nil)
}

func TestDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range roles {
		u := e.team.As(role)
		onMembers := e.task(e.memberDeal, nil)
		res := e.as(u, "DELETE", taskPath(id(onMembers)), nil)
		if res.Status != http.StatusNoContent || len(res.Body) != 0 {
			t.Fatalf("%s: %d %s", role, res.Status, res.Body)
		}
		apptest.WantProblem(t, e.as(u, "GET", taskPath(id(onMembers)), nil), http.StatusNotFound, "task_not_found")
		apptest.WantProblem(t, e.as(u, "DELETE", taskPath(id(onMembers)), nil), http.StatusNotFound, "task_not_found")

		onOwners := e.task(e.ownerDeal, nil)
		res = e.as(u, "DELETE", taskPath(id(onOwners)), nil)
		if role == "member" {
			apptest.WantProblem(t, res, http.StatusForbidden, "not_owner")
			e.must(http.StatusOK, u, "GET", taskPath(id(onOwners)), nil)
			continue
		}
		if res.Status != http.StatusNoContent {
			t.Fatalf("%s on the owner's deal: %d %s", role, res.Status, res.Body)
		}
	}
}

// Deleting a deal deletes its tasks.
func TestDeletingTheDealDeletesItsTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gone := []int64{id(e.task(e.ownerDeal, nil)), id(e.task(e.ownerDeal, map[string]any{"due_date": "2030-01-20"}))}
	kept := id(e.task(e.memberDeal, nil))
	e.must(http.StatusNoContent, e.team.Owner, "DELETE", dealPath(e.ownerDeal), nil)
	for _, tid := range gone {
		apptest.WantProblem(t, e.as(e.team.Owner, "GET", taskPath(tid), nil), http.StatusNotFound, "task_not_found")
	}
	e.must(http.StatusOK, e.team.Owner, "GET", taskPath(kept), nil)
	list := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/tasks", nil)
	if list["total"] != float64(1) {
		t.Fatalf("list after deleting the deal: %v", list)
	}
	apptest.WantProblem(t, e.as(e.team.Owner, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.ownerDeal, "title": "x"}), http.StatusNotFound, "deal_not_found")
}
