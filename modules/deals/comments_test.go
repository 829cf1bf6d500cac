package deals_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func activityPath(dealID, id int64) string {
	return fmt.Sprintf("/api/v1/deals/%d/activities/%d", dealID, id)
}

// commentBy posts a comment on the deal as u.
func (e env) commentBy(u apptest.User, dealID int64, text string) map[string]any {
	e.T.Helper()
	return e.must(http.StatusCreated, u, "POST", activitiesPath(dealID), map[string]any{"type": "comment", "payload": map[string]any{"text": text}})
}

func text(a map[string]any) string { return a["payload"].(map[string]any)["text"].(string) }

// Only a comment's author edits it, whatever their role, on any deal they can read; the answer
// and the timeline carry the new text and edited_at, which is null until then.
func TestEditCommentByItsAuthorOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, nil)
	for _, role := range roles {
		author := e.team.As(role)
		c := e.commentBy(author, id(d), "by "+role)
		if v, ok := c["edited_at"]; !ok || v != nil {
			t.Fatalf("new comment: edited_at %v (present %v)", v, ok)
		}
		p := activityPath(id(d), id(c))
		for _, other := range roles {
			if other == role {
				continue
			}
			apptest.WantProblem(t, e.as(e.team.As(other), "PATCH", p, map[string]any{"payload": map[string]any{"text": "not yours"}}),
				http.StatusForbidden, "not_author")
		}
		got := e.must(http.StatusOK, author, "PATCH", p, map[string]any{"payload": map[string]any{"text": "edited by " + role}})
		if text(got) != "edited by "+role || got["edited_at"] == nil || !strings.HasSuffix(got["edited_at"].(string), "Z") ||
			got["created_at"] != c["created_at"] || got["id"] != c["id"] || got["author_id"] != c["author_id"] || got["type"] != "comment" {
			t.Fatalf("%s's edit: %v (was %v)", role, got, c)
		}
		if listed := e.activityBody(id(d), id(c)); !strings.Contains(string(listed), `"edited by `+role+`"`) ||
			!strings.Contains(string(listed), `"edited_at":"`) {
			t.Fatalf("timeline after the edit: %s", listed)
		}
	}
	// Every activity of the timeline renders edited_at.
	for _, a := range e.activities(id(d)) {
		if _, ok := a["edited_at"]; !ok {
			t.Fatalf("activity without edited_at: %v", a)
		}
		if a["type"] == "system" && a["edited_at"] != nil {
			t.Fatalf("system activity edited: %v", a)
		}
	}
}

// The new text follows the rules of a new comment; edited_at and every other field are
// refused; activities the service recorded are never edited nor deleted; ids of another
// deal, another organization or none at all are 404.
func TestEditCommentValidationAndNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Member, nil)
	c := e.commentBy(e.team.Member, id(d), "original")
	p := activityPath(id(d), id(c))
	for _, tt := range []struct {
		body   any
		code   string
		fields []string
	}{
		{map[string]any{"payload": map[string]any{"text": "x"}, "edited_at": "2026-01-01T00:00:00Z"}, "read_only_field", []string{"edited_at"}},
		{map[string]any{"edited_at": nil}, "read_only_field", []string{"edited_at"}},
		{map[string]any{}, "validation_failed", []string{"payload"}},
		{map[string]any{"payload": nil}, "validation_failed", []string{"payload"}},
		{map[string]any{"payload": "x"}, "validation_failed", []string{"payload"}},
		{map[string]any{"payload": map[string]any{}}, "validation_failed", []string{"payload.text"}},
		{map[string]any{"payload": map[string]any{"text": ""}}, "validation_failed", []string{"payload.text"}},
		{map[string]any{"payload": map[string]any{"text": " \n "}}, "validation_failed", []string{"payload.text"}},
		{map[string]any{"payload": map[string]any{"text": strings.Repeat("x", 10001)}}, "validation_failed", []string{"payload.text"}},
		{map[string]any{"payload": map[string]any{"text": "x", "pinned": true}}, "unknown_field", []string{"payload.pinned"}},
		{map[string]any{"payload": map[string]any{"text": "x"}, "type": "comment"}, "unknown_field", []string{"type"}},
		{map[string]any{"payload": map[string]any{"text": "x"}, "author_id": e.team.Owner.ID}, "unknown_field", []string{"author_id"}},
	} {
		m := apptest.WantProblem(t, e.as(e.team.Member, "PATCH", p, tt.body), http.StatusBadRequest, tt.code)
		if got := apptest.ProblemFields(m); !slices.Equal(got, tt.fields) {
			t.Fatalf("%v: fields %v, want %v", tt.body, got, tt.fields)
		}
	}
	longest := strings.Repeat("é", 10000)
	if got := e.must(http.StatusOK, e.team.Member, "PATCH", p, map[string]any{"payload": map[string]any{"text": longest}}); text(got) != longest {
		t.Fatal("longest text cut")
	}

	// The service's own activities: status_changed, stage_changed, task_created, system.
	e.must(http.StatusOK, e.team.Member, "PATCH", dealPath(id(d)), map[string]any{"status": "in_progress", "stage": "proposal"})
	e.must(http.StatusCreated, e.team.Member, "POST", "/api/v1/tasks", map[string]any{"deal_id": id(d), "title": "Call"})
	seen := map[string]bool{}
	for _, a := range e.activities(id(d)) {
		if a["type"] == "comment" {
			continue
		}
		seen[a["type"].(string)] = true
		ap := activityPath(id(d), id(a))
		for _, role := range roles {
			u := e.team.As(role)
			apptest.WantProblem(t, e.as(u, "PATCH", ap, map[string]any{"payload": map[string]any{"text": "x"}}), http.StatusBadRequest, "activity_not_editable")
			apptest.WantProblem(t, e.as(u, "DELETE", ap, nil), http.StatusBadRequest, "activity_not_editable")
		}
	}
	for _, typ := range []string{"system", "status_changed", "stage_changed", "task_created"} {
		if !seen[typ] {
			t.Fatalf("no %s activity was tried (%v)", typ, seen)
		}
	}

	// Another deal's comment through this deal, a comment id that never existed, a deal that
	// does not exist: 404 alike.
	other := e.deal(e.team.Member, nil)
	oc := e.commentBy(e.team.Member, id(other), "elsewhere")
	for _, tt := range []struct {
		path string
		code string
	}{
		{activityPath(id(d), id(oc)), "activity_not_found"},
		{activityPath(id(d), 987654321), "activity_not_found"},
		{activityPath(987654321, id(c)), "deal_not_found"},
		{fmt.Sprintf("/api/v1/deals/%d/activities/x", id(d)), "not_found"},
	} {
		apptest.WantProblem(t, e.as(e.team.Member, "PATCH", tt.path, map[string]any{"payload": map[string]any{"text": "x"}}), http.StatusNotFound, tt.code)
		apptest.WantProblem(t, e.as(e.team.Member, "DELETE", tt.path, nil), http.StatusNotFound, tt.code)
	}
	if !strings.Contains(string(e.activityBody(id(other), id(oc))), `"text":"elsewhere"`) {
		t.Fatal("another deal's comment changed")
	}
	// An outsider, under their own organization, cannot tell the comment exists.
	for _, method := range []string{"PATCH", "DELETE"} {
		res := e.Do(apptest.Req{Method: method, Path: p, Token: e.team.Outsider.Token, Org: e.team.Outsider.OrgID,
			Body: map[string]any{"payload": map[string]any{"text": "x"}}})
		apptest.WantProblem(t, res, http.StatusNotFound, "deal_not_found")
	}
}

// The author deletes their comment; owners and admins delete anyone's; managers and members
// only their own. A deleted comment is gone from the timeline and its id is then unknown.
func TestDeleteComment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Member, nil)
	for _, role := range roles {
		u := e.team.As(role)
		own := e.commentBy(u, id(d), "mine")
		e.must(http.StatusNoContent, u, "DELETE", activityPath(id(d), id(own)), nil)
		apptest.WantProblem(t, e.as(u, "DELETE", activityPath(id(d), id(own)), nil), http.StatusNotFound, "activity_not_found")
		apptest.WantProblem(t, e.as(u, "PATCH", activityPath(id(d), id(own)), map[string]any{"payload": map[string]any{"text": "x"}}),
			http.StatusNotFound, "activity_not_found")

		for _, author := range roles {
			if author == role {
				continue
			}
			c := e.commentBy(e.team.As(author), id(d), "by "+author)
			res := e.as(u, "DELETE", activityPath(id(d), id(c)), nil)
			if role == "owner" || role == "admin" {
				if res.Status != http.StatusNoContent {
					t.Fatalf("%s deleting %s's comment: %d %s", role, author, res.Status, res.Body)
				}
				continue
			}
			apptest.WantProblem(t, res, http.StatusForbidden, "not_author")
			e.must(http.StatusNoContent, e.team.As(author), "DELETE", activityPath(id(d), id(c)), nil)
		}
	}
	for _, a := range e.activities(id(d)) {
		if a["type"] == "comment" {
			t.Fatalf("a deleted comment is still listed: %v", a)
		}
	}
}

// An edit records activity.updated (the new rendering, previous_attributes with the old text
// and edited_at), a removal activity.deleted with the last state, each with the caller as
// actor; a repeated text, a refused edit or removal records nothing.
func TestCommentEditsAndRemovalsRecordTheirEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, nil)
	member, admin := e.team.Member, e.team.Admin
	c := e.commentBy(member, id(d), "first")
	p := activityPath(id(d), id(c))
	feed := e.Follow(e.team.Owner.Token, e.team.OrgID)

	before := e.activityBody(id(d), id(c))
	res := e.as(member, "PATCH", p, map[string]any{"payload": map[string]any{"text": "second"}})
	if res.Status != http.StatusOK {
		t.Fatalf("edit: %d %s", res.Status, res.Body)
	}
	after := e.activityBody(id(d), id(c))
	evs := feed.Next()
	wantTypes(t, evs, "activity.updated")
	evs[0].WantUser(t, member)
	evs[0].WantObject(t, after)
	evs[0].WantObject(t, res.Body)
	evs[0].WantPrevious(t, before, after)
	if prev := evs[0].Previous(t); len(prev) != 2 || prev["edited_at"] != nil || text(prev) != "first" {
		t.Fatalf("previous_attributes %v", prev)
	}

	// Nothing changes or the write is refused: no event.
	same := e.must(http.StatusOK, member, "PATCH", p, map[string]any{"payload": map[string]any{"text": "second"}})
	if same["edited_at"] != evs[0].Object(t)["edited_at"] {
		t.Fatalf("repeating the text moved edited_at: %v", same)
	}
	e.must(http.StatusForbidden, admin, "PATCH", p, map[string]any{"payload": map[string]any{"text": "admin's words"}})
	e.must(http.StatusForbidden, e.team.Manager, "DELETE", p, nil)
	e.must(http.StatusBadRequest, member, "PATCH", p, map[string]any{"payload": map[string]any{"text": ""}})
	e.must(http.StatusBadRequest, member, "PATCH", p, map[string]any{"payload": map[string]any{"text": "x"}, "edited_at": nil})
	if evs := feed.Next(); len(evs) != 0 {
		t.Fatalf("writes that changed nothing or failed recorded %v", apptest.Types(evs))
	}

	// An admin removes the member's comment: activity.deleted in its last (edited) state.
	last := e.activityBody(id(d), id(c))
	e.must(http.StatusNoContent, admin, "DELETE", p, nil)
	evs = feed.Next()
	wantTypes(t, evs, "activity.deleted")
	evs[0].WantUser(t, admin)
	evs[0].WantObject(t, last)
	if evs[0].Previous(t) != nil {
		t.Fatal("activity.deleted carries previous_attributes")
	}
	// The deal's own record is untouched by its comments.
	if got := e.must(http.StatusOK, e.team.Owner, "GET", dealPath(id(d)), nil); got["updated_at"] != d["updated_at"] {
		t.Fatalf("a comment changed its deal: %v", got)
	}
}

// An edit and a removal of one comment sent at once: one waits for the other, and the feed
// tells exactly what happened (an edit that lost the race finds no comment and writes no
// event; one that won is followed by the removal carrying the edited text).
func TestConcurrentEditAndDeleteOfAComment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, nil)
	author := e.team.Member
	feed := e.Follow(e.team.Owner.Token, e.team.OrgID)
	for i := range 8 {
		c := e.commentBy(author, id(d), fmt.Sprint("original ", i))
		p := activityPath(id(d), id(c))
		var wg sync.WaitGroup
		var edit, del apptest.Response
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			edit = e.as(author, "PATCH", p, map[string]any{"payload": map[string]any{"text": fmt.Sprint("edited ", i)}})
		}()
		go func() {
			defer wg.Done()
			<-start
			del = e.as(e.team.Owner, "DELETE", p, nil)
		}()
		close(start)
		wg.Wait()
		if del.Status != http.StatusNoContent {
			t.Fatalf("round %d: delete %d %s", i, del.Status, del.Body)
		}
		evs := feed.Next()
		switch edit.Status {
		case http.StatusOK:
			wantTypes(t, evs, "activity.created", "activity.updated", "activity.deleted")
			evs[1].WantObject(t, edit.Body)
			evs[2].WantObject(t, edit.Body)
		case http.StatusNotFound:
			apptest.WantProblem(t, edit, http.StatusNotFound, "activity_not_found")
			wantTypes(t, evs, "activity.created", "activity.deleted")
			if got := text(evs[1].Object(t)); got != fmt.Sprint("original ", i) {
				t.Fatalf("round %d: deleted carries %q", i, got)
			}
		default:
			t.Fatalf("round %d: edit %d %s", i, edit.Status, edit.Body)
		}
	}
}
