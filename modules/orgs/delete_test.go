package orgs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/orgs"
)

// rowCounts counts, for one organization, the rows of every table that has an
// organization_id column, as the catalog lists them (a table added later is counted too),
// on a connection of the login role, which row-level security does not limit.
func rowCounts(t *testing.T, s *apptest.Server, orgID int64) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, tbl := range tables {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+tbl+" WHERE organization_id = $1", orgID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tbl] = n
	}
	var org int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM organizations WHERE id = $1`, orgID).Scan(&org); err != nil {
		t.Fatal(err)
	}
	out["organizations (the row itself)"] = org
	return out
}

// jobStates counts the queue's jobs of an organization (those whose arguments carry its
// org_id) by state, the erasure's own aside.
func jobStates(t *testing.T, s *apptest.Server, orgID int64) map[string]int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT state::text, count(*)::int FROM river_job
		WHERE args ->> 'org_id' = $1::bigint::text AND kind <> 'orgs.erase' GROUP BY state`, orgID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			t.Fatal(err)
		}
		out[st] = n
	}
	return out
}

// populate gives an organization a row in as many tables as the API can reach: contacts,
// deals (with their stage history and analytics), tasks, comments, an idempotency record, an
// API key, a webhook endpoint with a pending delivery, an invitation, and their events.
func populate(t *testing.T, s *apptest.Server, owner apptest.User, orgID int64, hook string) {
	t.Helper()
	do := func(want int, method, path string, body any, headers map[string]string) map[string]any {
		t.Helper()
		return s.Must(want, apptest.Req{Method: method, Path: path, Token: owner.Token, Org: orgID, Body: body, Headers: headers}).JSON()
	}
	contact := do(201, "POST", "/api/v1/contacts", map[string]any{"name": "Clara", "email": "clara@example.com"},
		map[string]string{"Idempotency-Key": "first-contact"})
	deal := do(201, "POST", "/api/v1/deals", map[string]any{"contact_id": contact["id"], "title": "Renewal", "amount": "100"}, nil)
	do(200, "PATCH", fmt.Sprintf("/api/v1/deals/%v", deal["id"]), map[string]any{"stage": "proposal"}, nil)
	do(201, "POST", "/api/v1/tasks", map[string]any{"deal_id": deal["id"], "title": "Call",
		"due_date": time.Now().AddDate(0, 0, 3).Format(time.DateOnly)}, nil)
	do(201, "POST", fmt.Sprintf("/api/v1/deals/%v/activities", deal["id"]),
		map[string]any{"type": "comment", "payload": map[string]any{"text": "hello"}}, nil)
	// Records in the trash, hidden from the service's reads, are rows of the organization too.
	gone := do(201, "POST", "/api/v1/contacts", map[string]any{"name": "Gone"}, nil)
	goneDeal := do(201, "POST", "/api/v1/deals", map[string]any{"contact_id": gone["id"], "title": "Gone", "amount": "1"}, nil)
	do(201, "POST", "/api/v1/tasks", map[string]any{"deal_id": goneDeal["id"], "title": "Gone"}, nil)
	s.Must(204, apptest.Req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/deals/%v", goneDeal["id"]), Token: owner.Token, Org: orgID})
	s.Must(204, apptest.Req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/contacts/%v", gone["id"]), Token: owner.Token, Org: orgID})
	do(201, "POST", fmt.Sprintf("/api/v1/organizations/%d/api-keys", orgID), map[string]any{"name": "Sync", "role": "manager"}, nil)
	ep := do(201, "POST", "/api/v1/webhooks", map[string]any{"url": hook, "events": []string{"*"}}, nil)
	do(202, "POST", fmt.Sprintf("/api/v1/webhooks/%v/ping", ep["id"]), nil, nil)
	// Invitations, where the service has them.
	s.Do(apptest.Req{Method: "POST", Path: fmt.Sprintf("/api/v1/organizations/%d/invitations", orgID), Token: owner.Token,
		Body: map[string]any{"email": fmt.Sprintf("guest.%d@example.com", orgID), "role": "member"}})
}

func deleteOrg(s *apptest.Server, u apptest.User, orgID int64, confirm *string) apptest.Response {
	path := fmt.Sprintf("/api/v1/organizations/%d", orgID)
	if confirm != nil {
		path += "?confirm=" + url.QueryEscape(*confirm)
	}
	return s.Do(apptest.Req{Method: "DELETE", Path: path, Token: u.Token})
}

// The owner deletes an organization: wrong or missing confirmations, other roles and API keys
// are refused; the organization then closes at once for every member and key; the erasure
// removes every row carrying its id, in every table that has the column, even when it is
// interrupted and run again, cancels its pending jobs, and leaves a neighbour untouched.
func TestDeletingAnOrganizationErasesEveryRowOfItAndNoOther(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer hook.Close()
	team := s.NewTeam()
	neighbour := team.Outsider
	populate(t, s, team.Owner, team.OrgID, hook.URL)
	populate(t, s, neighbour, neighbour.OrgID, hook.URL)
	key := s.Must(201, apptest.Req{Method: "POST", Path: orgPath(team.OrgID, "/api-keys"), Token: team.Owner.Token,
		Body: map[string]any{"name": "Admin key", "role": "admin"}}).JSON()["token"].(string)

	before, neighbourBefore := rowCounts(t, s, team.OrgID), rowCounts(t, s, neighbour.OrgID)
	for _, tbl := range []string{"public.contacts", "public.deals", "public.tasks", "public.activities", "public.events",
		"public.idempotency_keys", "public.api_keys", "public.webhook_endpoints", "public.webhook_deliveries",
		"public.pipelines", "public.pipeline_stages", "public.organization_members", "public.deal_stage_history"} {
		if before[tbl] == 0 || neighbourBefore[tbl] == 0 {
			t.Fatalf("%s has no row to erase: %d / %d", tbl, before[tbl], neighbourBefore[tbl])
		}
	}
	for tbl, n := range before {
		if n == 0 {
			t.Logf("%s has no row of the organization in this test", tbl)
		}
	}
	if jobStates(t, s, team.OrgID)["available"] == 0 {
		t.Fatal("the organization has no pending job to cancel")
	}

	name := "owner's org"
	wrong, empty := "Owner's org", ""
	for _, c := range []*string{nil, &empty, &wrong} {
		res := deleteOrg(s, team.Owner, team.OrgID, c)
		m := apptest.WantProblem(t, res, 400, "confirmation_mismatch")
		if f := apptest.ProblemFields(m); len(f) != 1 || f[0] != "confirm" {
			t.Fatalf("fields %v", f)
		}
	}
	apptest.WantProblem(t, deleteOrg(s, team.Admin, team.OrgID, &name), 403, "forbidden")
	apptest.WantProblem(t, deleteOrg(s, apptest.User{Token: key}, team.OrgID, &name), 403, "api_key_not_allowed")
	apptest.WantProblem(t, deleteOrg(s, neighbour, team.OrgID, &name), 403, "not_a_member")
	res := s.Do(apptest.Req{Method: "DELETE", Path: orgPath(team.OrgID, "?confirm=x&force=true"), Token: team.Owner.Token})
	apptest.WantProblem(t, res, 400, "unknown_parameter")

	if res := deleteOrg(s, team.Owner, team.OrgID, &name); res.Status != http.StatusAccepted || len(res.Body) != 0 {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}

	// Closed at once: every member is refused like a stranger, and the key as a dead one.
	for _, u := range []apptest.User{team.Owner, team.Admin, team.Member} {
		apptest.WantProblem(t, s.Do(apptest.Req{Method: "GET", Path: orgPath(team.OrgID, ""), Token: u.Token}), 403, "not_a_member")
		apptest.WantProblem(t, s.Do(apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: u.Token, Org: team.OrgID}), 403, "not_a_member")
		var mine []map[string]any
		s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/organizations/me", Token: u.Token}).Decode(t, &mine)
		for _, o := range mine {
			if int64(o["id"].(float64)) == team.OrgID {
				t.Fatalf("the deleted organization is still among %v", mine)
			}
		}
	}
	apptest.WantProblem(t, s.Do(apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: key}), 401, "invalid_api_key")
	apptest.WantProblem(t, deleteOrg(s, team.Owner, team.OrgID, &name), 403, "not_a_member")
	// The owner's other organizations and the neighbour are open as before.
	s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: neighbour.Token, Org: neighbour.OrgID})

	// The job's work, cut short after each statement as a crash would, then run again until it
	// is done: each run carries on where the last stopped.
	svc := apptest.ModuleOf[*orgs.Module](s).Service()
	ctx := context.Background()
	if _, err := svc.Erase(ctx, neighbour.OrgID, time.Minute); !errors.Is(err, orgs.ErrNotClosed) {
		t.Fatalf("erasing an open organization: %v", err)
	}
	svc.SetEraseChunk(1)
	runs := 0
	for done := false; !done; runs++ {
		var err error
		if done, err = svc.Erase(ctx, team.OrgID, 0); err != nil {
			t.Fatal(err)
		}
		if runs > 1000 {
			t.Fatal("the erasure does not finish")
		}
	}
	if runs < 10 {
		t.Fatalf("the erasure took %d runs: it was not interrupted", runs)
	}
	if done, err := svc.Erase(ctx, team.OrgID, time.Minute); !done || err != nil {
		t.Fatalf("a run after the end: %v %v", done, err)
	}

	after := rowCounts(t, s, team.OrgID)
	for tbl, n := range after {
		if n != 0 {
			t.Errorf("%s keeps %d rows of the deleted organization (had %d)", tbl, n, before[tbl])
		}
	}
	for tbl, n := range rowCounts(t, s, neighbour.OrgID) {
		if n != neighbourBefore[tbl] {
			t.Errorf("%s: the neighbour has %d rows, had %d", tbl, n, neighbourBefore[tbl])
		}
	}
	if st := jobStates(t, s, team.OrgID); len(st) != 1 || st["cancelled"] == 0 {
		t.Errorf("the deleted organization's jobs: %v, want all cancelled", st)
	}
	if st := jobStates(t, s, neighbour.OrgID); st["cancelled"] != 0 || st["available"] == 0 {
		t.Errorf("the neighbour's jobs: %v", st)
	}
	// The users stay: they only lost an organization.
	s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/users/me", Token: team.Member.Token})
}

// The erasure is a durable job on the queue, enqueued by the DELETE's transaction: once the
// queue runs, the organization disappears by itself.
func TestTheQueueErasesADeletedOrganization(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer hook.Close()
	owner, neighbour := s.Register("owner"), s.Register("neighbour")
	populate(t, s, owner, owner.OrgID, hook.URL)
	populate(t, s, neighbour, neighbour.OrgID, hook.URL)
	name := "owner's org"
	s.Must(http.StatusAccepted, apptest.Req{Method: "DELETE", Path: orgPath(owner.OrgID, "?confirm="+url.QueryEscape(name)),
		Token: owner.Token})
	neighbourBefore := rowCounts(t, s, neighbour.OrgID)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.App.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.App.Stop(context.Background()) }()
	deadline := time.Now().Add(30 * time.Second)
	for rowCounts(t, s, owner.OrgID)["organizations (the row itself)"] != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the organization is still there: %v", rowCounts(t, s, owner.OrgID))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for tbl, n := range rowCounts(t, s, owner.OrgID) {
		if n != 0 {
			t.Errorf("%s keeps %d rows of the deleted organization", tbl, n)
		}
	}
	// The neighbour's own rows are all there (its feed and deliveries may have moved on).
	for tbl, n := range rowCounts(t, s, neighbour.OrgID) {
		if n < neighbourBefore[tbl] {
			t.Errorf("%s: the neighbour has %d rows, had %d", tbl, n, neighbourBefore[tbl])
		}
	}
}
