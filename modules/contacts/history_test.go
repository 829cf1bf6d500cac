package contacts_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// A PATCH that changes something appends one entry with each changed field's value before and
// after as GET renders it, by its actor; one that changes nothing appends none; the list is
// newest first, pages by cursor, and is read by every role.
func TestContactHistoryRecordsEachChangingPatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, manager := e.team.Owner, e.team.Manager
	c := e.contact(owner, map[string]any{"name": "Ann", "tags": []string{"vip"}})
	path := contactPath(id(c))
	if items, _ := e.history(id(c), ""); len(items) != 0 {
		t.Fatalf("a new contact has history %v", items)
	}
	e.must(http.StatusOK, owner, "PATCH", path, map[string]any{"name": "Ann Smith", "email": "ann@example.com"})
	e.must(http.StatusOK, owner, "PATCH", path, map[string]any{"name": "Ann Smith", "tags": []string{"VIP"}}) // changes nothing
	e.must(http.StatusOK, manager, "PATCH", path, map[string]any{"email": nil, "tags": []string{"vip", "lead"}, "owner_id": manager.ID})
	key := e.must(http.StatusCreated, owner, "POST", fmt.Sprintf("/api/v1/organizations/%d/api-keys", e.team.OrgID),
		map[string]any{"name": "sync", "role": "admin"})
	e.Must(http.StatusOK, apptest.Req{Method: "PATCH", Path: path, Token: key["token"].(string), Body: map[string]any{"notes": "Called\n  twice"}})

	items, next := e.history(id(c), "")
	want := []struct{ actor, changes string }{
		{fmt.Sprintf(`{"id":%d,"type":"api_key"}`, id(key)), `{"notes":{"from":null,"to":"Called\n  twice"}}`},
		{fmt.Sprintf(`{"id":%d,"type":"user"}`, manager.ID), fmt.Sprintf(`{"email":{"from":"ann@example.com","to":null},`+
			`"owner_id":{"from":%d,"to":%d},"tags":{"from":["vip"],"to":["vip","lead"]}}`, owner.ID, manager.ID)},
		{fmt.Sprintf(`{"id":%d,"type":"user"}`, owner.ID), `{"email":{"from":null,"to":"ann@example.com"},"name":{"from":"Ann","to":"Ann Smith"}}`},
	}
	if len(items) != len(want) || next != nil {
		t.Fatalf("history %v", items)
	}
	for i, w := range want {
		if got := asJSON(t, items[i]["actor"]); got != w.actor {
			t.Errorf("entry %d actor %s, want %s", i, got, w.actor)
		}
		if got := asJSON(t, items[i]["changes"]); got != w.changes {
			t.Errorf("entry %d changes %s, want %s", i, got, w.changes)
		}
		if i > 0 && items[i]["changed_at"].(string) > items[i-1]["changed_at"].(string) {
			t.Errorf("entry %d is newer than entry %d", i, i-1)
		}
	}
	// The last entry's time is the contact's updated_at: the write and its history are one.
	if got := e.must(http.StatusOK, owner, "GET", path, nil); got["updated_at"] != items[0]["changed_at"] {
		t.Errorf("updated_at %v, newest change %v", got["updated_at"], items[0]["changed_at"])
	}

	// Cursor pages: one entry each, in the same order.
	query := "?page_size=1"
	for i := range want {
		page, next := e.history(id(c), query)
		if len(page) != 1 || asJSON(t, page[0]) != asJSON(t, items[i]) {
			t.Fatalf("page %d: %v", i, page)
		}
		if next == nil {
			if i != len(want)-1 {
				t.Fatalf("page %d has no next_cursor", i)
			}
			break
		}
		query = "?page_size=1&cursor=" + url.QueryEscape(*next)
	}
	// A cursor of another list, or one edited, is refused.
	e.contact(owner, map[string]any{"name": "Another"})
	listCursor := e.must(http.StatusOK, owner, "GET", "/api/v1/contacts?page_size=1", nil)["next_cursor"].(string)
	_, histCursor := e.history(id(c), "?page_size=1")
	for _, bad := range []string{listCursor, *histCursor + "x", "bogus"} {
		apptest.WantProblem(t, e.as(owner, "GET", historyPath(id(c))+"?cursor="+url.QueryEscape(bad), nil), http.StatusBadRequest, "invalid_cursor")
		apptest.WantProblem(t, e.as(owner, "GET", "/api/v1/contacts/duplicates?cursor="+url.QueryEscape(bad), nil), http.StatusBadRequest, "invalid_cursor")
	}
	for _, role := range roles {
		res := e.as(e.team.As(role), "GET", historyPath(id(c)), nil)
		if res.Status != http.StatusOK || len(res.JSON()["items"].([]any)) != len(want) {
			t.Errorf("%s: %d %s", role, res.Status, res.Body)
		}
	}
}

// A refused PATCH records nothing; the history of another organization's contact, or of
// none, is a 404; unknown parameters are refused.
func TestContactHistoryRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.contact(e.team.Owner, map[string]any{"name": "Ann"})
	apptest.WantProblem(t, e.as(e.team.Member, "PATCH", contactPath(id(c)), map[string]any{"name": "Mine"}), http.StatusForbidden, "not_owner")
	apptest.WantProblem(t, e.as(e.team.Owner, "PATCH", contactPath(id(c)), map[string]any{"name": ""}), http.StatusBadRequest, "validation_failed")
	if items, _ := e.history(id(c), ""); len(items) != 0 {
		t.Fatalf("history %v", items)
	}
	out := e.team.Outsider
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: historyPath(id(c)), Token: out.Token, Org: out.OrgID}), http.StatusNotFound, "contact_not_found")
	apptest.WantProblem(t, e.as(e.team.Owner, "GET", historyPath(987654), nil), http.StatusNotFound, "contact_not_found")
	apptest.WantProblem(t, e.as(e.team.Owner, "GET", historyPath(id(c))+"?order=asc", nil), http.StatusBadRequest, "unknown_parameter")
}
