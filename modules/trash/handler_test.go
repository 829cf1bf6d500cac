package trash_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/trash"
)

type env struct {
	*apptest.Server
	team apptest.Team
}

func newEnv(t *testing.T, s *apptest.Server) *env {
	t.Helper()
	return &env{Server: s, team: s.NewTeam()}
}

func (e *env) must(status int, u apptest.User, method, path string, body any) apptest.Response {
	e.T.Helper()
	return e.Must(status, apptest.Req{Method: method, Path: path, Token: u.Token, Org: e.team.OrgID, Body: body})
}

func (e *env) do(u apptest.User, method, path string, body any) apptest.Response {
	e.T.Helper()
	return e.Do(apptest.Req{Method: method, Path: path, Token: u.Token, Org: e.team.OrgID, Body: body})
}

func id(r apptest.Response) int64 { return int64(r.JSON()["id"].(float64)) }

// record creates a contact, a deal on it and a task on the deal, all by u.
func (e *env) record(u apptest.User) (contact, deal, task int64) {
	e.T.Helper()
	contact = id(e.must(201, u, "POST", "/api/v1/contacts", map[string]any{"name": "Ann"}))
	deal = id(e.must(201, u, "POST", "/api/v1/deals", map[string]any{"contact_id": contact, "title": "Big", "amount": "100.00"}))
	task = id(e.must(201, u, "POST", "/api/v1/tasks", map[string]any{"deal_id": deal, "title": "Call", "due_date": "2030-01-01"}))
	return contact, deal, task
}

type trashItem struct {
	Object    string `json:"object"`
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	DeletedAt string `json:"deleted_at"`
	DeletedBy struct {
		Type string `json:"type"`
		ID   *int64 `json:"id"`
	} `json:"deleted_by"`
	PurgeAt string `json:"purge_at"`
}

func (e *env) trash(u apptest.User, query string) []trashItem {
	e.T.Helper()
	var page struct {
		Items []trashItem `json:"items"`
	}
	e.must(200, u, "GET", "/api/v1/trash"+query, nil).Decode(e.T, &page)
	return page.Items
}

func restorePath(object string, id int64) string {
	return fmt.Sprintf("/api/v1/trash/%s/%d/restore", object, id)
}

func (e *env) summaryCount() float64 {
	e.T.Helper()
	s := e.must(200, e.team.Owner, "GET", "/api/v1/analytics/deals/summary", nil).JSON()
	return s["by_status"].(map[string]any)["new"].(map[string]any)["count"].(float64)
}

func listIDs(t *testing.T, r apptest.Response) []int64 {
	t.Helper()
	var page struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	r.Decode(t, &page)
	var out []int64
	for _, it := range page.Items {
		out = append(out, it.ID)
	}
	return out
}

// A deleted deal is gone from its GET, the lists, the search, its timeline and the reports
// at once, waits in the trash with its tasks, and comes back whole with them.
func TestATrashedDealIsGoneEverywhereAndComesBackWhole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apptest.New(t))
	owner := e.team.Owner
	_, deal, task := e.record(owner)
	dealPath, taskPath := fmt.Sprintf("/api/v1/deals/%d", deal), fmt.Sprintf("/api/v1/tasks/%d", task)
	before := e.must(200, owner, "GET", dealPath, nil).Body
	taskBefore := e.must(200, owner, "GET", taskPath, nil).Body
	timeline := e.must(200, owner, "GET", dealPath+"/activities", nil).Body
	if e.summaryCount() != 1 {
		t.Fatal("the deal is not in the summary")
	}
	feed := e.Follow(owner.Token, e.team.OrgID)

	e.must(204, owner, "DELETE", dealPath, nil)
	apptest.WantProblem(t, e.do(owner, "GET", dealPath, nil), 404, "deal_not_found")
	apptest.WantProblem(t, e.do(owner, "GET", dealPath+"/activities", nil), 404, "deal_not_found")
	apptest.WantProblem(t, e.do(owner, "GET", taskPath, nil), 404, "task_not_found")
	for _, p := range []string{"/api/v1/deals", "/api/v1/deals?search=Big", "/api/v1/tasks", fmt.Sprintf("/api/v1/tasks?deal_id=%d", deal)} {
		if ids := listIDs(t, e.must(200, owner, "GET", p, nil)); len(ids) != 0 {
			t.Errorf("%s lists %v after the delete", p, ids)
		}
	}
	if n := e.summaryCount(); n != 0 {
		t.Errorf("summary counts %v new deals after the delete", n)
	}
	items := e.trash(owner, "")
	if len(items) != 1 || items[0].Object != "deal" || items[0].ID != deal || items[0].Name != "Big" ||
		items[0].DeletedBy.Type != "user" || items[0].DeletedBy.ID == nil || *items[0].DeletedBy.ID != owner.ID {
		t.Fatalf("trash: %+v, want the deal alone (its task goes with it)", items)
	}
	deleted, _ := time.Parse(time.RFC3339, items[0].DeletedAt)
	purge, _ := time.Parse(time.RFC3339, items[0].PurgeAt)
	if purge.Sub(deleted) != 720*time.Hour {
		t.Errorf("purge_at %s is not deleted_at %s + 720h", items[0].PurgeAt, items[0].DeletedAt)
	}
	evs := feed.Next()
	if got := apptest.Types(evs); !slices.Equal(got, []string{"task.deleted", "deal.deleted"}) {
		t.Fatalf("events of the delete: %v", got)
	}
	for _, ev := range evs {
		if string(ev.Data["reason"]) != `"trashed"` {
			t.Errorf("%s reason %s, want trashed", ev.Type, ev.Data["reason"])
		}
	}
	evs[1].WantObject(t, before)

	res := e.must(200, owner, "POST", restorePath("deal", deal), nil)
	if string(res.Body) != string(before) {
		t.Errorf("restore answered\n%s\nwant the deal as before\n%s", res.Body, before)
	}
	if got := e.must(200, owner, "GET", dealPath, nil).Body; string(got) != string(before) {
		t.Errorf("restored deal\n%s\nwant\n%s", got, before)
	}
	if got := e.must(200, owner, "GET", taskPath, nil).Body; string(got) != string(taskBefore) {
		t.Errorf("restored task\n%s\nwant\n%s", got, taskBefore)
	}
	if got := e.must(200, owner, "GET", dealPath+"/activities", nil).Body; string(got) != string(timeline) {
		t.Errorf("restored timeline\n%s\nwant\n%s", got, timeline)
	}
	if ids := listIDs(t, e.must(200, owner, "GET", "/api/v1/deals?search=Big", nil)); !slices.Equal(ids, []int64{deal}) {
		t.Errorf("search after restore: %v", ids)
	}
	if e.summaryCount() != 1 {
		t.Error("the restored deal is not in the summary")
	}
	if items := e.trash(owner, ""); len(items) != 0 {
		t.Errorf("trash after restore: %+v", items)
	}
	evs = feed.Next()
	if got := apptest.Types(evs); !slices.Equal(got, []string{"deal.restored", "task.restored"}) {
		t.Fatalf("events of the restore: %v", got)
	}
	evs[0].WantObject(t, before)
	evs[1].WantObject(t, taskBefore)
	// Restoring again: not in the trash.
	apptest.WantProblem(t, e.do(owner, "POST", restorePath("deal", deal), nil), 404, "trash_item_not_found")
}

// A task deleted on its own stays in the trash when its deal comes back, and cannot come back
// while its deal is in the trash.
func TestATaskComesBackOnlyWithItsOwnDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apptest.New(t))
	owner := e.team.Owner
	_, deal, alone := e.record(owner)
	with := id(e.must(201, owner, "POST", "/api/v1/tasks", map[string]any{"deal_id": deal, "title": "Send"}))
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/tasks/%d", alone), nil)
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/deals/%d", deal), nil)
	if items := e.trash(owner, "?type=task"); len(items) != 1 || items[0].ID != alone {
		t.Fatalf("tasks in the trash: %+v, want the one deleted on its own", items)
	}
	apptest.WantProblem(t, e.do(owner, "POST", restorePath("task", alone), nil), 409, "parent_in_trash")
	apptest.WantProblem(t, e.do(owner, "POST", restorePath("task", with), nil), 409, "parent_in_trash")
	e.must(200, owner, "POST", restorePath("deal", deal), nil)
	e.must(200, owner, "GET", fmt.Sprintf("/api/v1/tasks/%d", with), nil)
	apptest.WantProblem(t, e.do(owner, "GET", fmt.Sprintf("/api/v1/tasks/%d", alone), nil), 404, "task_not_found")
	e.must(200, owner, "POST", restorePath("task", alone), nil)
	e.must(200, owner, "GET", fmt.Sprintf("/api/v1/tasks/%d", alone), nil)
}

// Restoring a deal whose contact is in the trash restores the contact too; a member needs to
// own both.
func TestADealBringsItsContactBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apptest.New(t))
	owner, member := e.team.Owner, e.team.Member
	contact := id(e.must(201, owner, "POST", "/api/v1/contacts", map[string]any{"name": "Ann"}))
	deal := id(e.must(201, member, "POST", "/api/v1/deals", map[string]any{"contact_id": contact, "title": "Mine", "amount": 5}))
	contactPath := fmt.Sprintf("/api/v1/contacts/%d", contact)
	apptest.WantProblem(t, e.do(owner, "DELETE", contactPath, nil), 409, "contact_has_deals")
	e.must(204, member, "DELETE", fmt.Sprintf("/api/v1/deals/%d", deal), nil)
	e.must(204, owner, "DELETE", contactPath, nil) // only a deal in the trash references it
	apptest.WantProblem(t, e.do(owner, "GET", contactPath, nil), 404, "contact_not_found")
	// The contact is the owner's: the member may not bring it back with their deal.
	apptest.WantProblem(t, e.do(member, "POST", restorePath("deal", deal), nil), 403, "not_owner")
	if items := e.trash(owner, ""); len(items) != 2 {
		t.Fatalf("a refused restore changed the trash: %+v", items)
	}
	feed := e.Follow(owner.Token, e.team.OrgID)
	e.must(200, owner, "POST", restorePath("deal", deal), nil)
	e.must(200, owner, "GET", contactPath, nil)
	if got := apptest.Types(feed.Next()); !slices.Equal(got, []string{"contact.restored", "deal.restored"}) {
		t.Fatalf("events: %v", got)
	}
	if items := e.trash(owner, ""); len(items) != 0 {
		t.Fatalf("trash after restore: %+v", items)
	}
}

// Who may delete a record may restore it; the trash of another organization is invisible and
// its ids are 404s; an unknown type is 400.
func TestWhoMayRestore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apptest.New(t))
	owner, member, outsider := e.team.Owner, e.team.Member, e.team.Outsider
	contact, deal, _ := e.record(owner)
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/deals/%d", deal), nil)
	apptest.WantProblem(t, e.do(member, "POST", restorePath("deal", deal), nil), 403, "not_owner")
	if items := e.trash(member, ""); len(items) != 1 {
		t.Fatalf("the member sees %+v", items)
	}
	// Another organization: an empty trash, and A's ids are like ids that never existed.
	var page struct {
		Items []trashItem `json:"items"`
	}
	e.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/trash", Token: outsider.Token, Org: outsider.OrgID}).Decode(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("B sees A's trash: %+v", page.Items)
	}
	theirs := e.Do(apptest.Req{Method: "POST", Path: restorePath("deal", deal), Token: outsider.Token, Org: outsider.OrgID})
	never := e.Do(apptest.Req{Method: "POST", Path: restorePath("deal", deal+1_000_000), Token: outsider.Token, Org: outsider.OrgID})
	apptest.WantProblem(t, theirs, 404, "trash_item_not_found")
	apptest.SameProblem(t, theirs, never)
	apptest.WantProblem(t, e.do(owner, "POST", restorePath("activity", deal), nil), 400, "unknown_trash_type")
	apptest.WantProblem(t, e.do(owner, "GET", "/api/v1/trash?type=activity", nil), 400, "invalid_query")
	apptest.WantProblem(t, e.do(owner, "POST", restorePath("contact", contact), nil), 404, "trash_item_not_found")
	for _, role := range []string{"manager", "admin"} {
		e.must(200, e.team.As(role), "POST", restorePath("deal", deal), nil)
		e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/deals/%d", deal), nil)
	}
	// A member restores what they own.
	mine := id(e.must(201, member, "POST", "/api/v1/deals", map[string]any{"contact_id": contact, "title": "Mine", "amount": 5}))
	e.must(204, member, "DELETE", fmt.Sprintf("/api/v1/deals/%d", mine), nil)
	e.must(200, member, "POST", restorePath("deal", mine), nil)
}

// The purge deletes what has been in the trash for TRASH_RETENTION for good, without events;
// a contact stays while a deal in the trash references it.
func TestThePurgeDeletesForGood(t *testing.T) {
	t.Parallel()
	clock := apptest.NewClock(time.Now())
	cfg := apptest.Config()
	cfg.TrashRetention = time.Hour
	e := newEnv(t, apptest.NewWithClock(t, cfg, clock))
	owner := e.team.Owner
	contact, deal, task := e.record(owner)
	other := id(e.must(201, owner, "POST", "/api/v1/contacts", map[string]any{"name": "Bob"}))
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/deals/%d", deal), nil)
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/contacts/%d", contact), nil)
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/contacts/%d", other), nil)
	svc := apptest.ModuleOf[*trash.Module](e.Server).Service()
	ctx := context.Background()
	if n, err := svc.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("purge before the retention: %d, %v", n, err)
	}
	feed := e.Follow(owner.Token, e.team.OrgID)
	clock.Advance(2 * time.Hour)
	n, err := svc.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("purged %d records, want 3", n)
	}
	if items := e.trash(owner, ""); len(items) != 0 {
		t.Errorf("trash after the purge: %+v", items)
	}
	if evs := feed.Next(); len(evs) != 0 {
		t.Errorf("the purge wrote events: %v", apptest.Types(evs))
	}
	conn, err := pgx.Connect(ctx, e.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []struct {
		table string
		id    int64
	}{{"deals", deal}, {"tasks", task}, {"contacts", contact}, {"contacts", other}} {
		var left int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+q.table+" WHERE id = $1", q.id).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%s %d is still there", q.table, q.id)
		}
	}
	var acts int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM activities WHERE deal_id = $1", deal).Scan(&acts); err != nil || acts != 0 {
		t.Errorf("activities of the purged deal: %d, %v", acts, err)
	}

	// A contact whose deal is still in the trash waits for it (a deal's purge time set later,
	// as a longer TRASH_RETENTION at its delete would have).
	c2, d2, _ := e.record(owner)
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/deals/%d", d2), nil)
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/contacts/%d", c2), nil)
	if _, err := conn.Exec(ctx, "UPDATE trash_items SET purge_at = $2 WHERE object = 'deal' AND id = $1", d2, clock.Now().Add(10*time.Hour)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if _, err := svc.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if items := e.trash(owner, ""); len(items) != 2 {
		t.Fatalf("trash: %+v, want the deal and its contact", items)
	}
	clock.Advance(10 * time.Hour)
	if n, err := svc.Purge(ctx); err != nil || n != 2 {
		t.Fatalf("purge: %d, %v; want the deal, then its contact", n, err)
	}
	if items := e.trash(owner, ""); len(items) != 0 {
		t.Fatalf("trash: %+v", items)
	}
}

// A member who leaves hands their tasks in the trash on too: the removal does not fail at
// commit. One who owns a deal in the trash cannot leave, as with a live one.
func TestAMemberLeavesWithTasksInTheTrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apptest.New(t))
	owner, member := e.team.Owner, e.team.Member
	_, deal, _ := e.record(owner)
	task := id(e.must(201, owner, "POST", "/api/v1/tasks", map[string]any{"deal_id": deal, "title": "For the member", "assignee_id": member.ID}))
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/tasks/%d", task), nil)
	withDeal := id(e.must(201, owner, "POST", "/api/v1/tasks", map[string]any{"deal_id": deal, "title": "Also", "assignee_id": member.ID}))
	_, other, _ := e.record(owner)
	e.must(201, owner, "POST", "/api/v1/tasks", map[string]any{"deal_id": other, "title": "Third", "assignee_id": member.ID})
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/deals/%d", other), nil)
	_ = withDeal
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/organizations/%d/members/%d", e.team.OrgID, member.ID), nil)
	e.must(200, owner, "POST", restorePath("task", task), nil)
	if got := e.must(200, owner, "GET", fmt.Sprintf("/api/v1/tasks/%d", task), nil).JSON()["assignee_id"]; got != float64(owner.ID) {
		t.Errorf("restored task assigned to %v, want the deal's owner %d", got, owner.ID)
	}
	e.must(200, owner, "POST", restorePath("deal", other), nil)

	// The manager owns a deal in the trash: leaving is refused as for a live one.
	manager := e.team.Manager
	c := id(e.must(201, manager, "POST", "/api/v1/contacts", map[string]any{"name": "M"}))
	d := id(e.must(201, manager, "POST", "/api/v1/deals", map[string]any{"contact_id": c, "title": "M", "amount": 1}))
	e.must(204, manager, "DELETE", fmt.Sprintf("/api/v1/deals/%d", d), nil)
	e.must(204, manager, "DELETE", fmt.Sprintf("/api/v1/contacts/%d", c), nil)
	apptest.WantProblem(t, e.do(owner, "DELETE", fmt.Sprintf("/api/v1/organizations/%d/members/%d", e.team.OrgID, manager.ID), nil),
		http.StatusConflict, "member_owns_records")
}

// Deals created while their contact goes to the trash either land first (and the delete is
// refused with contact_has_deals) or are refused with the contact's 404: no live deal ever
// points at a contact in the trash.
func TestNoLiveDealPointsAtAContactInTheTrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apptest.New(t))
	owner := e.team.Owner
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for round := range 5 {
		contact := id(e.must(201, owner, "POST", "/api/v1/contacts", map[string]any{"name": fmt.Sprint("Racing ", round)}))
		const n = 8
		var wg sync.WaitGroup
		results := make([]apptest.Response, n)
		var deleted apptest.Response
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == n/2 {
					deleted = e.do(owner, "DELETE", fmt.Sprintf("/api/v1/contacts/%d", contact), nil)
				}
				results[i] = e.do(owner, "POST", "/api/v1/deals", map[string]any{"contact_id": contact, "title": "Racing", "amount": 1})
			}()
		}
		wg.Wait()
		if deleted.Status != http.StatusNoContent && deleted.Code() != "contact_has_deals" {
			t.Fatalf("delete: %d %s", deleted.Status, deleted.Body)
		}
		for i, r := range results {
			created, refused := r.Status == http.StatusCreated, r.Status == http.StatusNotFound && r.Code() == "contact_not_found"
			if !created && !refused {
				t.Fatalf("create %d: %d %s", i, r.Status, r.Body)
			}
		}
	}
	var bad int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM deals d JOIN contacts c ON c.organization_id = d.organization_id AND c.id = d.contact_id
		WHERE d.deleted_at IS NULL AND c.deleted_at IS NOT NULL`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Fatalf("%d live deals point at a contact in the trash", bad)
	}
}

// A deal in the trash keeps its pipeline: the pipeline cannot be deleted while it is there,
// and a stage's move_to takes it along, so it never comes back at a stage that is gone.
func TestADealInTheTrashKeepsItsPipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apptest.New(t))
	owner := e.team.Owner
	contact := id(e.must(201, owner, "POST", "/api/v1/contacts", map[string]any{"name": "Ann"}))
	pl := e.must(201, owner, "POST", "/api/v1/pipelines", map[string]any{"name": "Hiring",
		"stages": []any{map[string]any{"key": "screen"}, map[string]any{"key": "offer"}}}).JSON()
	plID := int64(pl["id"].(float64))
	screen := int64(pl["stages"].([]any)[0].(map[string]any)["id"].(float64))
	deal := id(e.must(201, owner, "POST", "/api/v1/deals", map[string]any{"contact_id": contact, "title": "Hire", "amount": 1, "pipeline_id": plID}))
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/deals/%d", deal), nil)
	apptest.WantProblem(t, e.do(owner, "DELETE", fmt.Sprintf("/api/v1/pipelines/%d", plID), nil), http.StatusConflict, "pipeline_has_deals")
	apptest.WantProblem(t, e.do(owner, "DELETE", fmt.Sprintf("/api/v1/pipelines/%d/stages/%d", plID, screen), nil), http.StatusConflict, "stage_has_deals")
	e.must(204, owner, "DELETE", fmt.Sprintf("/api/v1/pipelines/%d/stages/%d?move_to=offer", plID, screen), nil)
	if got := e.must(200, owner, "POST", restorePath("deal", deal), nil).JSON()["stage"]; got != "offer" {
		t.Fatalf("restored deal at stage %v, want offer", got)
	}
}
