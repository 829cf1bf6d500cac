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
// analytics reports B cached, the pipelines B validates deal writes against, and the role B
// cached of a member A removed or demoted.
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

	// A adds a stage to the pipeline B holds in its cache (B validated a deal write against
	// it): B accepts a move to the new stage; A deletes it: B refuses the move again.
	pls := as(b, owner, "GET", "/api/v1/pipelines", nil).JSON()["items"].([]any)
	sales := int64(pls[0].(map[string]any)["id"].(float64))
	toDemo := func(s *apptest.Server) apptest.Response {
		return as(s, owner, "PATCH", fmt.Sprintf("/api/v1/deals/%d", deal), map[string]any{"stage": "demo"})
	}
	if r := toDemo(b); r.Status != http.StatusBadRequest || r.Code() != "unknown_stage" {
		t.Fatalf("move to a stage the pipeline lacks: %d %s", r.Status, r.Body)
	}
	added := as(a, owner, "POST", fmt.Sprintf("/api/v1/pipelines/%d/stages", sales), map[string]any{"key": "demo"})
	if added.Status != http.StatusCreated {
		t.Fatalf("add a stage: %d %s", added.Status, added.Body)
	}
	fresh(t, "B moves a deal to the stage A added", func() bool { return toDemo(b).Status == http.StatusOK })
	var demoID float64
	for _, st := range added.JSON()["stages"].([]any) {
		if st.(map[string]any)["key"] == "demo" {
			demoID = st.(map[string]any)["id"].(float64)
		}
	}
	if r := as(a, owner, "DELETE", fmt.Sprintf("/api/v1/pipelines/%d/stages/%d?move_to=closed", sales, int64(demoID)), nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete the stage: %d %s", r.Status, r.Body)
	}
	fresh(t, "B refuses the stage A deleted", func() bool { r := toDemo(b); return r.Status == http.StatusBadRequest && r.Code() == "unknown_stage" })

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
