package tasks_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/tasks"
	"github.com/mini-crm/crm/modules/tasks/tasksapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

func ctxAs(u apptest.User, orgID int64, role auth.Role) context.Context {
	return apptest.Acting(context.Background(), auth.Principal{UserID: u.ID, OrgID: orgID, Role: role})
}

// owner connects to the test database as the role that owns the schema (the service runs
// as the application role, under row-level security), for checks and setups behind the
// service's back.
func owner(t *testing.T, e env) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func count(t *testing.T, e env, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := owner(t, e).QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func date(s string) *time.Time {
	d, err := web.ParseDate(s)
	if err != nil {
		panic(err)
	}
	t := d.Time()
	return &t
}

// When appending the timeline entry fails, the task is not created either.
func TestFailedActivityRollsBackTheTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	db := owner(t, e)
	_, err := db.Exec(context.Background(), `
		CREATE FUNCTION refuse_activity() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'activity refused'; END $$;
		CREATE TRIGGER refuse_activity BEFORE INSERT ON activities FOR EACH ROW
		WHEN (NEW.type = 'task_created') EXECUTE FUNCTION refuse_activity();`)
	if err != nil {
		t.Fatal(err)
	}
	res := e.as(e.team.Owner, "POST", "/api/v1/tasks", map[string]any{"deal_id": e.ownerDeal, "title": "Doomed"})
	m := apptest.WantProblem(t, res, http.StatusInternalServerError, "internal_error")
	if m["detail"] != "something went wrong on our side; quote the request_id when reporting it" {
		t.Fatalf("a 500 says too much: %s", res.Body)
	}
	if n := count(t, e, "SELECT count(*) FROM tasks"); n != 0 {
		t.Fatalf("%d tasks survived the failed activity", n)
	}
	if _, err := db.Exec(context.Background(), "DROP TRIGGER refuse_activity ON activities"); err != nil {
		t.Fatal(err)
	}
	e.task(e.ownerDeal, nil)
	if n := count(t, e, "SELECT count(*) FROM activities WHERE type = 'task_created'"); n != 1 {
		t.Fatalf("%d task_created activities", n)
	}
}

// Every use case filters by the organization of the caller, whatever the ids it is given.
func TestServiceTenantFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.task(e.ownerDeal, map[string]any{"due_date": "2030-01-20", "description": "d"})
	tid := id(tk)
	// The outsider as owner of their own organization.
	ctx := ctxAs(e.team.Outsider, e.team.Outsider.OrgID, auth.RoleOwner)

	if _, err := e.svc.Get(ctx, tid); !errors.Is(err, tasksapi.ErrTaskNotFound) {
		t.Fatalf("get: %v", err)
	}
	if _, err := e.svc.Update(ctx, tid, tasks.Change{Patch: tasks.Patch{Title: ptr("stolen")}}); !errors.Is(err, tasksapi.ErrTaskNotFound) {
		t.Fatalf("update: %v", err)
	}
	if err := e.svc.Delete(ctx, tid); !errors.Is(err, tasksapi.ErrTaskNotFound) {
		t.Fatalf("delete: %v", err)
	}
	if _, err := e.svc.Create(ctx, tasks.NewTask{DealID: e.ownerDeal, Title: "x"}); !errors.Is(err, dealsapi.ErrDealNotFound) {
		t.Fatalf("create on another organization's deal: %v", err)
	}
	res, err := e.svc.List(ctx, tasks.ListFilter{DealID: &e.ownerDeal}, listing.Window{Limit: 20, Count: true})
	items, total := res.Items, *res.Total
	if err != nil || len(items) != 0 || total != 0 {
		t.Fatalf("list: %v %d %v", items, total, err)
	}
	// Nothing changed.
	if after := e.must(http.StatusOK, e.team.Owner, "GET", taskPath(tid), nil); after["title"] != "Task" {
		t.Fatalf("task %v", after)
	}

	// Services need a tenant principal.
	if _, err := e.svc.Get(context.Background(), tid); !errors.Is(err, auth.ErrNoPrincipal) {
		t.Fatalf("no principal: %v", err)
	}
}

// The service reads "today" from its clock, on create and on update.
func TestServiceUsesItsClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxAs(e.team.Manager, e.team.OrgID, auth.RoleManager)
	e.clock.Set(time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC))
	if _, err := e.svc.Create(ctx, tasks.NewTask{DealID: e.ownerDeal, Title: "x", DueDate: tasks.Date(*date("2030-05-31"))}); !errors.Is(err, tasks.ErrDueDateInPast) {
		t.Fatalf("create yesterday: %v", err)
	}
	tk, err := e.svc.Create(ctx, tasks.NewTask{DealID: e.ownerDeal, Title: "x", DueDate: tasks.Date(*date("2030-06-01"))})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2030, 7, 1, 0, 0, 0, 0, time.UTC))
	if _, err := e.svc.Update(ctx, tk.ID, tasks.Change{Due: patch.Some[tasks.Day](tasks.Date(*date("2030-06-30")))}); !errors.Is(err, tasks.ErrDueDateInPast) {
		t.Fatalf("update to yesterday: %v", err)
	}
	if _, err := e.svc.Update(ctx, tk.ID, tasks.Change{Patch: tasks.Patch{IsDone: ptr(true)},
		Due: patch.Some[tasks.Day](tasks.Date(*date("2030-06-01")))}); err != nil {
		t.Fatalf("overdue task marked done: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// anyDeal claims that every deal exists and belongs to owner.
type anyDeal struct{ owner int64 }

func (f anyDeal) Deal(_ context.Context, orgID, dealID int64) (dealsapi.Deal, error) {
	return dealsapi.Deal{ID: dealID, OrganizationID: orgID, OwnerID: f.owner}, nil
}

// A deal that vanished between the check and the insert is caught by the foreign key and
// reported as the 404 of the deal, not as a 500.
func TestForeignKeyMapsToDealNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.svc.SetDeals(anyDeal{owner: e.team.Owner.ID})
	ctx := ctxAs(e.team.Owner, e.team.OrgID, auth.RoleOwner)
	_, err := e.svc.Create(ctx, tasks.NewTask{DealID: e.ownerDeal + 1000, Title: "x"})
	if !errors.Is(err, dealsapi.ErrDealNotFound) || database.PgCode(err) != database.CodeForeignKeyViolation {
		t.Fatalf("err %v", err)
	}
	// The other organization's deal, which the fake claims is in the team's organization.
	out := e.team.Outsider
	contact := e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"name": "Theirs"}}).JSON()
	foreign := id(e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"contact_id": id(contact), "title": "Theirs", "amount": 1}}).JSON())
	if _, err := e.svc.Create(ctx, tasks.NewTask{DealID: foreign, Title: "x"}); !errors.Is(err, dealsapi.ErrDealNotFound) {
		t.Fatalf("cross-organization deal: %v", err)
	}
	if n := count(t, e, "SELECT count(*) FROM tasks"); n != 0 {
		t.Fatalf("%d tasks written", n)
	}
}

// The schema itself refuses a task on another organization's deal and a blank title, even
// to the owner of the tables.
func TestSchemaRefusesCrossOrganizationDeals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	db := owner(t, e)
	_, err := db.Exec(ctx, "INSERT INTO tasks (organization_id, deal_id, assignee_id, title) VALUES ($1, $2, $3, 'x')",
		e.team.Outsider.OrgID, e.ownerDeal, e.team.Outsider.ID)
	if database.PgCode(err) != database.CodeForeignKeyViolation || database.Constraint(err) != "tasks_deal_fkey" {
		t.Fatalf("cross-organization insert: %v", err)
	}
	_, err = db.Exec(ctx, "INSERT INTO tasks (organization_id, deal_id, title) VALUES ($1, $2, '  ')", e.team.OrgID, e.ownerDeal)
	if database.PgCode(err) != database.CodeCheckViolation {
		t.Fatalf("blank title: %v", err)
	}
	tid := id(e.task(e.ownerDeal, nil))
	_, err = db.Exec(ctx, "UPDATE tasks SET organization_id = $1 WHERE id = $2", e.team.Outsider.OrgID, tid)
	if database.PgCode(err) != database.CodeForeignKeyViolation {
		t.Fatalf("moving a task to another organization: %v", err)
	}
}

// Row-level security confines even a statement without a WHERE to the scoped organization.
func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tid := id(e.task(e.ownerDeal, nil))
	seen := func(ctx context.Context) int {
		t.Helper()
		var n int
		if err := e.App.DB.Q(ctx).QueryRow(ctx, "SELECT count(*) FROM tasks").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := seen(database.WithTenant(context.Background(), e.team.OrgID)); n != 1 {
		t.Fatalf("own organization sees %d tasks", n)
	}
	if n := seen(database.WithTenant(context.Background(), e.team.Outsider.OrgID)); n != 0 {
		t.Fatalf("another organization sees %d tasks", n)
	}
	if n := seen(context.Background()); n != 0 {
		t.Fatalf("an unscoped statement sees %d tasks", n)
	}
	ctx := database.WithTenant(context.Background(), e.team.Outsider.OrgID)
	if n, err := e.App.DB.Q(ctx).Exec(ctx, "DELETE FROM tasks"); err != nil || n.RowsAffected() != 0 {
		t.Fatalf("another organization deleted %v rows (%v)", n.RowsAffected(), err)
	}
	ctx = database.WithTenant(context.Background(), e.team.Outsider.OrgID)
	if _, err := e.App.DB.Q(ctx).Exec(ctx, "INSERT INTO tasks (organization_id, deal_id, title) VALUES ($1, $2, 'x')",
		e.team.OrgID, e.ownerDeal); err == nil {
		t.Fatal("inserted a task into another organization")
	}
	e.must(http.StatusOK, e.team.Owner, "GET", taskPath(tid), nil)
}

// Tasks created while their deal is being deleted (moved to the trash) either land before
// the delete (and go to the trash with the deal) or are refused with the deal's 404; none
// stays live on a deal in the trash, none fails with a 500.
func TestConcurrentCreatesWhileTheDealIsDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 12
	var wg sync.WaitGroup
	results := make([]apptest.Response, n)
	var deleted apptest.Response
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == n/2 {
				deleted = e.Do(apptest.Req{Method: "DELETE", Path: dealPath(e.memberDeal), Token: e.team.Member.Token, Org: e.team.OrgID})
			}
			results[i] = e.Do(apptest.Req{Method: "POST", Path: "/api/v1/tasks", Token: e.team.Member.Token, Org: e.team.OrgID,
				Body: map[string]any{"deal_id": e.memberDeal, "title": "racing", "due_date": "2030-01-15"}})
		}()
	}
	wg.Wait()
	if deleted.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", deleted.Status, deleted.Body)
	}
	for i, r := range results {
		created := r.Status == http.StatusCreated
		refused := r.Status == http.StatusNotFound && r.Code() == "deal_not_found"
		if !created && !refused {
			t.Fatalf("create %d: %d %s", i, r.Status, r.Body)
		}
	}
	if c := count(t, e, "SELECT count(*) FROM tasks WHERE deal_id = $1 AND (deleted_at IS NULL OR NOT with_deal)", e.memberDeal); c != 0 {
		t.Fatalf("%d tasks did not go to the trash with their deal", c)
	}
}

// Concurrent patches of one task serialise on its row: each is applied whole.
func TestConcurrentPatchesOfOneTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tid := id(e.task(e.memberDeal, nil))
	const n = 10
	var wg sync.WaitGroup
	results := make([]apptest.Response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.Do(apptest.Req{Method: "PATCH", Path: taskPath(tid), Token: e.team.Member.Token, Org: e.team.OrgID,
				Body: map[string]any{"title": "writer " + string(rune('a'+i)), "is_done": i%2 == 0, "description": "by " + string(rune('a'+i))}})
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Status != http.StatusOK {
			t.Fatalf("patch %d: %d %s", i, r.Status, r.Body)
		}
	}
	final := e.must(http.StatusOK, e.team.Member, "GET", taskPath(tid), nil)
	title := final["title"].(string)
	w := title[len(title)-1:]
	if final["description"] != "by "+w || final["is_done"] != ((rune(w[0])-'a')%2 == 0) {
		t.Fatalf("final task mixes writers: %v", final)
	}
}

// A member's task on their deal, racing a manager who gives the deal away: the deal's owner
// is read under a share lock, so the task waits for the reassignment and is then refused,
// instead of being decided on the owner that is being replaced.
func TestTaskWaitsForAReassignmentInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conn, err := pgx.Connect(context.Background(), e.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck
	if _, err := tx.Exec(context.Background(), "UPDATE deals SET owner_id = $1 WHERE id = $2", e.team.Manager.ID, e.memberDeal); err != nil {
		t.Fatal(err)
	}
	done := make(chan apptest.Response, 1)
	go func() {
		s := *e.Server
		s.T = t
		done <- s.Do(apptest.Req{Method: "POST", Path: "/api/v1/tasks", Token: e.team.Member.Token, Org: e.team.OrgID,
			Body: map[string]any{"deal_id": e.memberDeal, "title": "mine?"}})
	}()
	select {
	case res := <-done:
		t.Fatalf("the task was decided while the reassignment was in flight: %d %s", res.Status, res.Body)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res := <-done; res.Status != http.StatusForbidden || res.Code() != "not_owner" {
		t.Fatalf("after the reassignment: %d %s", res.Status, res.Body)
	}
}
