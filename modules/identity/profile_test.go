package identity_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// PATCH /users/me renames the caller with the rules of registration and answers the user as
// GET /users/me renders it; the members lists show the new name.
func TestUpdateMeRenamesTheCaller(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	u := s.Register("ann")
	me := func() map[string]any {
		return s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/api/v1/users/me", Token: u.Token}).JSON()
	}
	before := me()
	got := s.Must(http.StatusOK, apptest.Req{Method: "PATCH", Path: "/api/v1/users/me", Token: u.Token,
		Body: map[string]any{"name": "  Ann Smith "}}).JSON()
	after := me()
	if got["name"] != "Ann Smith" || after["name"] != "Ann Smith" || got["email"] != before["email"] ||
		got["id"] != before["id"] || got["created_at"] != before["created_at"] || len(got) != len(after) {
		t.Fatalf("patch %v, then %v (before %v)", got, after, before)
	}
	var members struct{ Items []map[string]any }
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/organizations/%d/members", u.OrgID), Token: u.Token}).Decode(t, &members)
	if members.Items[0]["name"] != "Ann Smith" {
		t.Fatalf("members %v", members.Items)
	}
	// Absent keeps the name; the same name again is fine.
	s.Must(http.StatusOK, apptest.Req{Method: "PATCH", Path: "/api/v1/users/me", Token: u.Token, Body: map[string]any{}})
	s.Must(http.StatusOK, apptest.Req{Method: "PATCH", Path: "/api/v1/users/me", Token: u.Token, Body: map[string]any{"name": "Ann Smith"}})
	if me()["name"] != "Ann Smith" {
		t.Fatal("the name changed")
	}
	long := make([]byte, 201)
	for i := range long {
		long[i] = 'a'
	}
	for _, tc := range []struct {
		body any
		code string
	}{
		{map[string]any{"name": "   "}, "validation_failed"},
		{map[string]any{"name": string(long)}, "validation_failed"},
		{map[string]any{"email": "other@example.com"}, "unknown_field"},
		{map[string]any{"name": 5}, "validation_failed"},
	} {
		res := s.Do(apptest.Req{Method: "PATCH", Path: "/api/v1/users/me", Token: u.Token, Body: tc.body})
		if res.Status != http.StatusBadRequest || res.Code() != tc.code {
			t.Errorf("%v: %d %s", tc.body, res.Status, res.Body)
		}
	}
	if me()["name"] != "Ann Smith" {
		t.Fatal("a refused PATCH changed the name")
	}
	s.Must(http.StatusUnauthorized, apptest.Req{Method: "PATCH", Path: "/api/v1/users/me", Body: map[string]any{"name": "X"}})
}
