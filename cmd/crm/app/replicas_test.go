package app_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/platform/testdb"
)

// replicas builds two instances of the service on one database, each listening for the
// other's cache invalidations, as two `crm serve` processes do.
func replicas(t *testing.T) (a, b *apptest.Server) {
	t.Helper()
	url := testdb.URL(t, app.Sources())
	open := func() *apptest.Server {
		s := apptest.OnDatabase(t, testdb.Open(t, url))
		ctx, cancel := context.WithCancel(context.Background())
		done := s.App.Caches.Start(ctx)
		t.Cleanup(func() { cancel(); <-done })
		return s
	}
	a, b = open(), open()
	for _, s := range []*apptest.Server{a, b} {
		deadline := time.Now().Add(5 * time.Second)
		for !s.App.Caches.Listening() {
			if time.Now().After(deadline) {
				t.Fatal("a replica's cache bus does not listen")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return a, b
}

// fresh polls read through a replica until it holds, failing after a second (the target is
// 100 ms), and logs how long that took after the write.
func fresh(t *testing.T, what string, read func() bool) {
	t.Helper()
	start := time.Now()
	for !read() {
		if time.Since(start) > time.Second {
			t.Fatalf("%s: not within 1 s of the write", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("%s: %s after the write", what, time.Since(start).Round(100*time.Microsecond))
}

// A read through replica B of a write through replica A is fresh within a second: the
// analytics reports B cached, and the role B cached of a member A removed or demoted.
func TestAReplicaReadsAnotherReplicasWritesFresh(t *testing.T) {
	t.Parallel()
	a, b := replicas(t)
	owner := a.Register("owner")
	member := a.Register("member")
	a.AddMember(owner, owner.OrgID, member, "manager")
	as := func(s *apptest.Server, u apptest.User, method, path string, body any) apptest.Response {
		return s.Do(apptest.Req{Method: method, Path: path, Token: u.Token, Org: owner.OrgID, Body: body})
	}

	contact := int64(as(a, owner, "POST", "/api/v1/contacts", map[string]any{"name": "C"}).JSON()["id"].(float64))
	deal := int64(as(a, owner, "POST", "/api/v1/deals", map[string]any{"contact_id": contact, "title": "D", "amount": "10.00"}).JSON()["id"].(float64))
	won := func() bool {
		r := as(b, member, "GET", "/api/v1/analytics/deals/summary", nil)
		return r.Status == http.StatusOK && r.JSON()["by_status"].(map[string]any)["won"].(map[string]any)["count"].(float64) == 1
	}
	if won() {
		t.Fatal("won before the deal is won")
	}
	// B now holds the summary and the member's role in its caches.
	if r := as(a, owner, "PATCH", fmt.Sprintf("/api/v1/deals/%d", deal), map[string]any{"status": "won"}); r.Status != http.StatusOK {
		t.Fatalf("win the deal: %d %s", r.Status, r.Body)
	}
	fresh(t, "B's summary counts the deal A won", won)

	// A demotes the member to member: B refuses them what only managers may (filtering by owner).
	filter := fmt.Sprintf("/api/v1/deals?owner_id=%d", owner.ID)
	if r := as(b, member, "GET", filter, nil); r.Status != http.StatusOK {
		t.Fatalf("a manager filters by owner: %d %s", r.Status, r.Body)
	}
	if r := a.Do(apptest.Req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/organizations/%d/members/%d", owner.OrgID, member.ID),
		Token: owner.Token, Body: map[string]any{"role": "member"}}); r.Status != http.StatusOK {
		t.Fatalf("demote: %d %s", r.Status, r.Body)
	}
	fresh(t, "B knows the member was demoted", func() bool { return as(b, member, "GET", filter, nil).Status == http.StatusForbidden })

	// A removes the member: B refuses them the organization.
	if r := a.Do(apptest.Req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/organizations/%d/members/%d", owner.OrgID, member.ID),
		Token: owner.Token}); r.Status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	fresh(t, "B refuses the removed member", func() bool {
		r := as(b, member, "GET", "/api/v1/deals", nil)
		return r.Status == http.StatusForbidden && r.Code() == "not_a_member"
	})
}
