package deals_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/deals"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/money"
	"github.com/mini-crm/crm/platform/patch"
)

func service(t *testing.T, e env) *deals.Service {
	t.Helper()
	facade, err := kernel.Resolve[dealsapi.Deals](e.App.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	return facade.(*deals.Service)
}

func ctxAs(u apptest.User, orgID int64, role auth.Role) context.Context {
	return apptest.Acting(context.Background(), auth.Principal{UserID: u.ID, OrgID: orgID, Role: role})
}

// checkChain verifies that the activities of one type form an unbroken chain from the
// initial value to the final one: every from is the previous to. A lost update, or an
// activity computed from a stale read, breaks the chain.
func checkChain(t *testing.T, acts []map[string]any, typ, initial, final string) int {
	t.Helper()
	var chain []map[string]any
	for i := len(acts) - 1; i >= 0; i-- { // oldest first
		if acts[i]["type"] == typ {
			chain = append(chain, acts[i]["payload"].(map[string]any))
		}
	}
	cur := initial
	for _, p := range chain {
		if p["from"] != cur || p["from"] == p["to"] {
			t.Fatalf("%s chain broken at %v (current %s): %v", typ, p, cur, chain)
		}
		cur = p["to"].(string)
	}
	if cur != final {
		t.Fatalf("%s chain ends at %s, deal is %s: %v", typ, cur, final, chain)
	}
	return len(chain)
}

func TestConcurrentPatchesLoseNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, map[string]any{"amount": 100})
	statuses := []string{"in_progress", "lost", "new", "won", "in_progress", "lost", "won", "new", "in_progress", "won", "lost", "new"}
	var wg sync.WaitGroup
	results := make([]apptest.Response, len(statuses))
	for i, st := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half of the requests also change the title, the others the stage, so that
			// concurrent writes touch different columns of the same row.
			body := map[string]any{"status": st}
			if i%2 == 0 {
				body["title"] = fmt.Sprint("title ", i)
			} else {
				body["stage"] = dealsapi.Stages[i%4]
			}
			results[i] = e.Do(apptest.Req{Method: "PATCH", Path: dealPath(id(d)), Token: e.team.Owner.Token, Org: e.team.OrgID, Body: body})
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Status != http.StatusOK {
			t.Fatalf("patch %d: %d %s", i, r.Status, r.Body)
		}
	}
	final := e.must(http.StatusOK, e.team.Owner, "GET", dealPath(id(d)), nil)
	acts := e.activities(id(d))
	if n := checkChain(t, acts, "status_changed", "new", final["status"].(string)); n == 0 {
		t.Fatal("no status change recorded")
	}
	checkChain(t, acts, "stage_changed", "qualification", final["stage"].(string))
	// The final title is the one of some request: no write overwrote another with old data.
	if !strings.HasPrefix(final["title"].(string), "title ") {
		t.Fatalf("final title %v", final["title"])
	}
}

func TestConcurrentIfMatchOneWinner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, nil)
	etag := e.as(e.team.Owner, "GET", dealPath(id(d)), nil).Header.Get("ETag")
	const n = 6
	var wg sync.WaitGroup
	results := make([]apptest.Response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.Do(apptest.Req{Method: "PATCH", Path: dealPath(id(d)), Token: e.team.Owner.Token, Org: e.team.OrgID,
				Body: map[string]any{"title": fmt.Sprint("writer ", i), "status": "in_progress"}, Headers: map[string]string{"If-Match": etag}})
		}()
	}
	wg.Wait()
	winner := -1
	for i, r := range results {
		switch r.Status {
		case http.StatusOK:
			if winner >= 0 {
				t.Fatalf("two writers succeeded with the same If-Match: %d and %d", winner, i)
			}
			winner = i
		case http.StatusPreconditionFailed:
		default:
			t.Fatalf("writer %d: %d %s", i, r.Status, r.Body)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	if got := e.must(http.StatusOK, e.team.Owner, "GET", dealPath(id(d)), nil)["title"]; got != fmt.Sprint("writer ", winner) {
		t.Fatalf("title %v, winner %d", got, winner)
	}
	if got := typesOf(e.activities(id(d))); !slices.Equal(got, []string{"system:deal_created", "status_changed:new>in_progress", "deal_updated:title"}) {
		t.Fatalf("timeline %v", got)
	}
}

// When appending an activity fails, the write it belongs to is rolled back with it.
func TestFailedActivityRollsBackTheDeal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	d := e.deal(e.team.Owner, nil)
	before := e.as(e.team.Owner, "GET", dealPath(id(d)), nil)
	_, err := e.sql.Exec(ctx, `
		CREATE FUNCTION refuse_activity() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'activity refused'; END $$;
		CREATE TRIGGER refuse_activity BEFORE INSERT ON activities FOR EACH ROW
		WHEN (NEW.type IN ('stage_changed', 'system')) EXECUTE FUNCTION refuse_activity();`)
	if err != nil {
		t.Fatal(err)
	}
	// The status activity is appended, then the stage activity fails: nothing may remain.
	res := e.as(e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"title": "changed", "status": "won", "stage": "closed"})
	apptest.WantProblem(t, res, http.StatusInternalServerError, "internal_error")
	if strings.Contains(string(res.Body), "refused") {
		t.Fatalf("database error leaked: %s", res.Body)
	}
	after := e.as(e.team.Owner, "GET", dealPath(id(d)), nil)
	if string(after.Body) != string(before.Body) || after.Header.Get("ETag") != before.Header.Get("ETag") {
		t.Fatalf("deal changed by a failed update:\n%s\n%s", before.Body, after.Body)
	}
	if got := typesOf(e.activities(id(d))); !slices.Equal(got, []string{"system:deal_created"}) {
		t.Fatalf("timeline after the failed update: %v", got)
	}
	var maxStage int
	if err := e.sql.QueryRow(ctx, "SELECT max_stage FROM deals WHERE id = $1", id(d)).Scan(&maxStage); err != nil || maxStage != 1 {
		t.Fatalf("max_stage %d, %v", maxStage, err)
	}
	// A create whose system activity fails leaves no deal.
	res = e.as(e.team.Owner, "POST", "/api/v1/deals", map[string]any{"contact_id": e.contact, "title": "ghost", "amount": 1})
	apptest.WantProblem(t, res, http.StatusInternalServerError, "internal_error")
	if m := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/deals", nil); m["total"] != float64(1) {
		t.Fatalf("deal of a failed create stored: %v", m)
	}
	// Changes that record no activity still work.
	e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"title": "changed"})
}

func TestServiceTenantFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := service(t, e)
	home := ctxAs(e.team.Owner, e.team.OrgID, auth.RoleOwner)
	out := e.team.Outsider
	away := ctxAs(out, out.OrgID, auth.RoleOwner)

	// Facade calls below run scoped to the deal's own organization, so only their explicit
	// organization filter can keep another organization's id out.
	homeScope := database.WithTenant(context.Background(), e.team.OrgID)
	d, err := svc.Create(home, deals.NewDeal{ContactID: e.contact, Title: "Home", Amount: money.MustParse("100")})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := svc.Deal(homeScope, e.team.OrgID, d.ID)
	if err != nil || pub.OwnerID != e.team.Owner.ID || pub.Amount.String() != "100.00" || pub.Currency != "USD" ||
		pub.Stage != (dealsapi.Stage{Key: "qualification", Position: 1}) || pub.MaxStage != (dealsapi.Stage{Key: "qualification", Position: 1}) {
		t.Fatalf("facade: %+v %v", pub, err)
	}
	notFound := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, dealsapi.ErrDealNotFound) {
			t.Fatalf("%s across organizations: %v", what, err)
		}
	}
	_, err = svc.Get(away, d.ID)
	notFound("get", err)
	_, err = svc.Deal(homeScope, out.OrgID, d.ID)
	notFound("facade", err)
	_, err = svc.Update(away, d.ID, deals.Patch{Title: new("Stolen"), Status: new("won")}, patch.Unconditional())
	notFound("update", err)
	notFound("delete", svc.Delete(away, d.ID))
	_, err = svc.Activities(away, d.ID, listing.Window{Limit: 20, Count: true})
	notFound("activities", err)
	_, err = svc.Comment(away, d.ID, "comment", json.RawMessage(`{"text":"x"}`))
	notFound("comment", err)
	if _, err := svc.Create(away, deals.NewDeal{ContactID: e.contact, Title: "x", Amount: money.MustParse("1")}); !errors.Is(err, contactsapi.ErrContactNotFound) {
		t.Fatalf("create on a foreign contact: %v", err)
	}
	res, err := svc.List(away, deals.ListFilter{ContactID: &e.contact, OrderBy: "created_at"}, listing.Window{Limit: 20, Count: true})
	items, total := res.Items, *res.Total
	if err != nil || total != 0 || len(items) != 0 {
		t.Fatalf("list across: %v %d %v", items, total, err)
	}
	if n, err := svc.CountDealsOfContact(homeScope, out.OrgID, e.contact); err != nil || n != 0 {
		t.Fatalf("count across: %d %v", n, err)
	}
	if n, err := svc.CountDealsOfContact(homeScope, e.team.OrgID, e.contact); err != nil || n != 1 {
		t.Fatalf("count at home: %d %v", n, err)
	}
	got, err := svc.Get(home, d.ID)
	if err != nil || got.Title != "Home" || got.Status != "new" || !got.UpdatedAt.Equal(d.UpdatedAt) {
		t.Fatalf("home deal touched: %+v %v", got, err)
	}
	// Service-level rules match the HTTP ones.
	member := ctxAs(e.team.Member, e.team.OrgID, auth.RoleMember)
	if _, err := svc.Update(member, d.ID, deals.Patch{Title: new("x")}, patch.Unconditional()); !errors.Is(err, auth.ErrNotOwner) {
		t.Fatalf("member on another's deal: %v", err)
	}
	if _, err := svc.Update(home, d.ID, deals.Patch{Title: new("x")}, patch.OneOf(`"stale"`)); !errors.Is(err, deals.ErrPreconditionFailed) {
		t.Fatalf("stale If-Match: %v", err)
	}
}

// The schema itself makes cross-organization references impossible, even for code that
// bypasses the services.
func TestSchemaRefusesCrossOrganizationReferences(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	d := e.deal(e.team.Owner, nil)
	out := e.team.Outsider
	for _, tt := range []struct {
		name, sql  string
		args       []any
		constraint string
	}{
		{"deal on another organization's contact",
			"INSERT INTO deals (organization_id, contact_id, owner_id, title, amount, currency) VALUES ($1, $2, $3, 'x', 1, 'USD')",
			[]any{out.OrgID, e.contact, out.ID}, "deals_contact_fkey"},
		{"deal owned by a non-member",
			"INSERT INTO deals (organization_id, contact_id, owner_id, title, amount, currency) VALUES ($1, $2, $3, 'x', 1, 'USD')",
			[]any{e.team.OrgID, e.contact, out.ID}, "deals_owner_fkey"},
		{"deal moved to another organization's contact",
			"UPDATE deals SET organization_id = $1 WHERE id = $2", []any{out.OrgID, id(d)}, "fkey"},
		{"activity on another organization's deal",
			"INSERT INTO activities (organization_id, deal_id, type) VALUES ($1, $2, 'system')",
			[]any{out.OrgID, id(d)}, "activities_deal_fkey"},
		{"stage beyond the furthest stage reached",
			"UPDATE deals SET stage = 'closed' WHERE id = $1", []any{id(d)}, "deals_max_stage_reached"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.sql.Exec(ctx, tt.sql, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.constraint) {
				t.Fatalf("stored: %v", err)
			}
		})
	}
}

func TestDealsChangedIsPublishedAfterCommits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mu sync.Mutex
	var events []dealsapi.DealsChanged
	kernel.Subscribe(e.App.Kernel, func(ev dealsapi.DealsChanged) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range events {
			if ev.OrgID != e.team.OrgID {
				t.Fatalf("event for organization %d", ev.OrgID)
			}
		}
		return len(events)
	}
	d := e.deal(e.team.Owner, nil)
	p := dealPath(id(d))
	steps := []struct {
		do   func()
		want int
	}{
		{func() {}, 1},
		{func() { e.must(http.StatusOK, e.team.Owner, "PATCH", p, map[string]any{"status": "won"}) }, 2},
		{func() { e.must(http.StatusOK, e.team.Owner, "PATCH", p, map[string]any{"status": "won"}) }, 2},
		{func() { e.must(http.StatusBadRequest, e.team.Owner, "PATCH", p, map[string]any{"amount": 0}) }, 2},
		{func() { e.must(http.StatusForbidden, e.team.Member, "PATCH", p, map[string]any{"title": "x"}) }, 2},
		{func() { e.must(http.StatusOK, e.team.Owner, "GET", p, nil) }, 2},
		{func() {
			e.must(http.StatusCreated, e.team.Member, "POST", activitiesPath(id(d)), map[string]any{"type": "comment", "payload": map[string]any{"text": "x"}})
		}, 2},
		{func() { e.must(http.StatusNoContent, e.team.Owner, "DELETE", p, nil) }, 3},
	}
	for i, s := range steps {
		s.do()
		if got := count(); got != s.want {
			t.Fatalf("step %d: %d events, want %d", i, got, s.want)
		}
	}
}

// A member who still owns deals cannot be removed from the organization.
func TestMemberWithDealsCannotBeRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Member, nil)
	e.must(http.StatusCreated, e.team.Member, "POST", activitiesPath(id(d)),
		map[string]any{"type": "comment", "payload": map[string]any{"text": "Called them"}})
	p := fmt.Sprintf("/api/v1/organizations/%d/members/%d", e.team.OrgID, e.team.Member.ID)
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "DELETE", Path: p, Token: e.team.Owner.Token}), http.StatusConflict, "member_owns_records")
	e.must(http.StatusOK, e.team.Manager, "PATCH", dealPath(id(d)), map[string]any{"owner_id": e.team.Manager.ID})
	before := e.activities(id(d))
	e.Must(http.StatusNoContent, apptest.Req{Method: "DELETE", Path: p, Token: e.team.Owner.Token})
	// The former member's comment stays on the timeline, and so does everything else.
	after := e.activities(id(d))
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("the timeline changed with the removal:\nbefore %v\nafter  %v", before, after)
	}
	var comments int
	for _, a := range after {
		if a["type"] == "comment" {
			comments++
			if num(a["author_id"]) != e.team.Member.ID || a["payload"].(map[string]any)["text"] != "Called them" {
				t.Fatalf("comment %v", a)
			}
		}
	}
	if comments != 1 {
		t.Fatalf("%d comments on the timeline after the removal, want the former member's 1: %v", comments, after)
	}
}
