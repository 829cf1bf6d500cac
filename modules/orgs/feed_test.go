package orgs_test

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

// memberItem is the member as the organization's members list renders it.
func memberItem(s *apptest.Server, as apptest.User, org, userID int64) []byte {
	s.T.Helper()
	var page struct{ Items []json.RawMessage }
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: orgPath(org, "/members?page_size=100"), Token: as.Token}).Decode(s.T, &page)
	for _, raw := range page.Items {
		var m struct {
			UserID int64 `json:"user_id"`
		}
		_ = json.Unmarshal(raw, &m)
		if m.UserID == userID {
			return raw
		}
	}
	s.T.Fatalf("user %d is not a member of %d", userID, org)
	return nil
}

// Adding a member (the owner of a new organization included), changing a role and removing
// a member each write one event carrying the member as the members list renders it, with
// the user who did it as actor; a role change lists the old role; a change that changes
// nothing or is refused writes none.
func TestMembershipWritesRecordTheirEvents(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	owner := s.Register("owner")
	feed := s.FollowFromStart(owner.Token, owner.OrgID)
	evs := feed.Next()
	wantTypes(t, evs, "member.added")
	evs[0].WantObject(t, memberItem(s, owner, owner.OrgID, owner.ID))
	evs[0].WantUser(t, owner)

	// A second organization of the same user starts with its owner's member.added.
	res := s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/organizations", Token: owner.Token,
		Body: map[string]any{"name": "Second"}})
	second := int64(res.JSON()["id"].(float64))
	evs = s.FollowFromStart(owner.Token, second).Next()
	wantTypes(t, evs, "member.added")
	evs[0].WantObject(t, memberItem(s, owner, second, owner.ID))
	evs[0].WantUser(t, owner)
	if evs := feed.Next(); len(evs) != 0 {
		t.Fatalf("another organization's event in the feed: %v", apptest.Types(evs))
	}

	admin, x := s.Register("admin"), s.Register("x")
	s.AddMember(owner, owner.OrgID, admin, "admin")
	feed.Next()
	s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: orgPath(owner.OrgID, "/members"), Token: admin.Token,
		Body: map[string]any{"email": x.Email, "role": "member"}})
	evs = feed.Next()
	wantTypes(t, evs, "member.added")
	evs[0].WantObject(t, memberItem(s, owner, owner.OrgID, x.ID))
	evs[0].WantUser(t, admin)

	before := memberItem(s, owner, owner.OrgID, x.ID)
	s.Must(http.StatusOK, apptest.Req{Method: "PATCH", Path: orgPath(owner.OrgID, fmt.Sprintf("/members/%d", x.ID)), Token: admin.Token,
		Body: map[string]any{"role": "manager"}})
	after := memberItem(s, owner, owner.OrgID, x.ID)
	evs = feed.Next()
	wantTypes(t, evs, "member.updated")
	evs[0].WantObject(t, after)
	evs[0].WantUser(t, admin)
	evs[0].WantPrevious(t, before, after)
	if prev := evs[0].Previous(t); len(prev) != 1 || prev["role"] != "member" {
		t.Fatalf("previous_attributes %v", prev)
	}

	// The same role again, a refused change (inside the transaction) or removal: no event.
	s.Must(http.StatusOK, apptest.Req{Method: "PATCH", Path: orgPath(owner.OrgID, fmt.Sprintf("/members/%d", x.ID)), Token: admin.Token,
		Body: map[string]any{"role": "manager"}})
	s.Must(http.StatusForbidden, apptest.Req{Method: "PATCH", Path: orgPath(owner.OrgID, fmt.Sprintf("/members/%d", owner.ID)), Token: admin.Token,
		Body: map[string]any{"role": "member"}})
	s.Must(http.StatusConflict, apptest.Req{Method: "DELETE", Path: orgPath(owner.OrgID, fmt.Sprintf("/members/%d", owner.ID)), Token: owner.Token})
	s.Must(http.StatusConflict, apptest.Req{Method: "POST", Path: orgPath(owner.OrgID, "/members"), Token: admin.Token,
		Body: map[string]any{"email": x.Email, "role": "member"}})
	if evs := feed.Next(); len(evs) != 0 {
		t.Fatalf("changes that changed nothing or failed recorded %v", apptest.Types(evs))
	}

	last := memberItem(s, owner, owner.OrgID, x.ID)
	s.Must(http.StatusNoContent, apptest.Req{Method: "DELETE", Path: orgPath(owner.OrgID, fmt.Sprintf("/members/%d", x.ID)), Token: admin.Token})
	evs = feed.Next()
	wantTypes(t, evs, "member.removed")
	evs[0].WantObject(t, last)
	evs[0].WantUser(t, admin)
	if evs[0].Previous(t) != nil {
		t.Fatal("a removal carries previous_attributes")
	}
}
