package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// world is two organizations, A (a full team) and B (the outsider's), with one record of
// every kind in A.
type world struct {
	s                          *apptest.Server
	team                       apptest.Team
	a, b                       int64 // organization ids
	contact, deal, task, owner int64 // A's records; owner is A's owner's user id
	webhook                    int64 // A's webhook endpoint
	apiKey                     int64 // an API key of A, created by its owner
	invitation                 int64 // a pending invitation of A, made by its owner
	pipeline, stage            int64 // a pipeline of A besides its default one, and one of its stages
	comment                    int64 // a comment of A's owner on the deal's timeline

	// duplicate is a second contact of A, the one the merge fixture absorbs.
	duplicate int64
	// imp is a (queued) import of A, sent by its owner.
	imp int64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	s := apptest.New(t)
	w := &world{s: s, team: s.NewTeam()}
	w.a, w.b, w.owner = w.team.OrgID, w.team.Outsider.OrgID, w.team.Owner.ID
	id := func(r apptest.Response) int64 { return int64(r.JSON()["id"].(float64)) }
	w.contact = id(w.asOwner(201, "POST", "/api/v1/contacts", map[string]any{"name": "Ann", "email": "ann@a.example"}))
	w.duplicate = id(w.asOwner(201, "POST", "/api/v1/contacts", map[string]any{"name": "Ann again", "email": "ann@a.example"}))
	w.deal = id(w.asOwner(201, "POST", "/api/v1/deals", map[string]any{"contact_id": w.contact, "title": "Big", "amount": "100.00"}))
	w.task = id(w.asOwner(201, "POST", "/api/v1/tasks", map[string]any{"deal_id": w.deal, "title": "Call",
		"due_date": time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)}))
	w.comment = id(w.asOwner(201, "POST", fmt.Sprintf("/api/v1/deals/%d/activities", w.deal), map[string]any{"type": "comment", "payload": map[string]any{"text": "hi"}}))
	w.webhook = id(w.asOwner(201, "POST", "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/a", "events": []string{"*"}}))
	w.apiKey = id(w.asOwner(201, "POST", fmt.Sprintf("/api/v1/organizations/%d/api-keys", w.a), map[string]any{"name": "Sync", "role": "manager"}))
	w.invitation = id(w.asOwner(201, "POST", fmt.Sprintf("/api/v1/organizations/%d/invitations", w.a), map[string]any{"email": "invitee@a.example", "role": "member"}))
	pl := w.asOwner(201, "POST", "/api/v1/pipelines", map[string]any{"name": "Matrix", "stages": []any{map[string]any{"key": "first"}, map[string]any{"key": "second"}}}).JSON()
	w.pipeline, w.stage = int64(pl["id"].(float64)), int64(pl["stages"].([]any)[1].(map[string]any)["id"].(float64))
	w.imp = id(s.Must(202, apptest.Req{Method: "POST", Path: "/api/v1/imports?type=contacts&dry_run=true", Token: w.team.Owner.Token, Org: w.a,
		Body: "name\nAnn\n", Headers: map[string]string{"Content-Type": "text/csv"}}))
	return w
}

func (w *world) asOwner(status int, method, path string, body any) apptest.Response {
	return w.s.Must(status, apptest.Req{Method: method, Path: path, Token: w.team.Owner.Token, Org: w.a, Body: body})
}

// snapshot records what A's owner sees of every record, to prove nothing changed later.
func (w *world) snapshot(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range []string{
		fmt.Sprintf("/api/v1/contacts/%d", w.contact), fmt.Sprintf("/api/v1/deals/%d", w.deal),
		fmt.Sprintf("/api/v1/tasks/%d", w.task), fmt.Sprintf("/api/v1/deals/%d/activities", w.deal),
		fmt.Sprintf("/api/v1/organizations/%d", w.a), fmt.Sprintf("/api/v1/organizations/%d/members", w.a),
		fmt.Sprintf("/api/v1/organizations/%d/api-keys", w.a), fmt.Sprintf("/api/v1/pipelines/%d", w.pipeline),
		fmt.Sprintf("/api/v1/organizations/%d/invitations", w.a),
	} {
		out[p] = w.asOwner(200, "GET", p, nil).Body
	}
	return out
}

// fixture says, for a route with path parameters, which of A's ids to put in it and which
// body to send. Every parameterised route must have one: a new route cannot escape the matrix.
type fixture struct {
	params map[string]int64
	body   any
}

func (w *world) fixtures() map[string]fixture {
	rec := func(name string, v int64) map[string]int64 { return map[string]int64{name: v} }
	org := rec("org_id", w.a)
	member := map[string]int64{"org_id": w.a, "user_id": w.owner}
	return map[string]fixture{
		"GET /api/v1/contacts/:id":                                {rec("id", w.contact), nil},
		"PATCH /api/v1/contacts/:id":                              {rec("id", w.contact), map[string]any{"name": "Stolen"}},
		"DELETE /api/v1/contacts/:id":                             {rec("id", w.contact), nil},
		"POST /api/v1/contacts/:id/merge":                         {rec("id", w.contact), map[string]any{"from": []int64{w.duplicate}}},
		"GET /api/v1/contacts/:id/history":                        {rec("id", w.contact), nil},
		"GET /api/v1/deals/:id":                                   {rec("id", w.deal), nil},
		"PATCH /api/v1/deals/:id":                                 {rec("id", w.deal), map[string]any{"title": "Stolen"}},
		"DELETE /api/v1/deals/:id":                                {rec("id", w.deal), nil},
		"GET /api/v1/deals/:deal_id/activities":                   {rec("deal_id", w.deal), nil},
		"POST /api/v1/deals/:deal_id/activities":                  {rec("deal_id", w.deal), map[string]any{"type": "comment", "payload": map[string]any{"text": "x"}}},
		"PATCH /api/v1/deals/:deal_id/activities/:id":             {map[string]int64{"deal_id": w.deal, "id": w.comment}, map[string]any{"payload": map[string]any{"text": "Stolen"}}},
		"DELETE /api/v1/deals/:deal_id/activities/:id":            {map[string]int64{"deal_id": w.deal, "id": w.comment}, nil},
		"GET /api/v1/tasks/:id":                                   {rec("id", w.task), nil},
		"PATCH /api/v1/tasks/:id":                                 {rec("id", w.task), map[string]any{"title": "Stolen"}},
		"DELETE /api/v1/tasks/:id":                                {rec("id", w.task), nil},
		"GET /api/v1/organizations/:org_id":                       {org, nil},
		"PATCH /api/v1/organizations/:org_id":                     {org, map[string]any{"name": "Stolen"}},
		"DELETE /api/v1/organizations/:org_id":                    {org, nil},
		"GET /api/v1/organizations/:org_id/members":               {org, nil},
		"POST /api/v1/organizations/:org_id/members":              {org, map[string]any{"email": w.team.Outsider.Email, "role": "owner"}},
		"PATCH /api/v1/organizations/:org_id/members/:user_id":    {member, map[string]any{"role": "member"}},
		"DELETE /api/v1/organizations/:org_id/members/:user_id":   {member, nil},
		"GET /api/v1/webhooks/:id":                                {rec("id", w.webhook), nil},
		"PATCH /api/v1/webhooks/:id":                              {rec("id", w.webhook), map[string]any{"url": "https://hooks.example.com/stolen"}},
		"DELETE /api/v1/webhooks/:id":                             {rec("id", w.webhook), nil},
		"POST /api/v1/webhooks/:id/rotate-secret":                 {rec("id", w.webhook), nil},
		"POST /api/v1/webhooks/:id/ping":                          {rec("id", w.webhook), nil},
		"GET /api/v1/webhooks/:id/deliveries":                     {rec("id", w.webhook), nil},
		"POST /api/v1/webhooks/:id/deliveries/:delivery_id/retry": {map[string]int64{"id": w.webhook, "delivery_id": 1}, nil},
		"GET /api/v1/organizations/:org_id/api-keys":              {org, nil},
		"POST /api/v1/organizations/:org_id/api-keys":             {org, map[string]any{"name": "Stolen", "role": "admin"}},
		"DELETE /api/v1/organizations/:org_id/api-keys/:id":       {map[string]int64{"org_id": w.a, "id": w.apiKey}, nil},
		"GET /api/v1/organizations/:org_id/invitations":           {org, nil},
		"POST /api/v1/organizations/:org_id/invitations":          {org, map[string]any{"email": w.team.Outsider.Email, "role": "owner"}},
		"DELETE /api/v1/organizations/:org_id/invitations/:id":    {map[string]int64{"org_id": w.a, "id": w.invitation}, nil},
		"GET /api/v1/pipelines/:id":                               {rec("id", w.pipeline), nil},
		"PATCH /api/v1/pipelines/:id":                             {rec("id", w.pipeline), map[string]any{"name": "Stolen"}},
		"DELETE /api/v1/pipelines/:id":                            {rec("id", w.pipeline), nil},
		"POST /api/v1/pipelines/:id/stages":                       {rec("id", w.pipeline), map[string]any{"key": "stolen"}},
		"PATCH /api/v1/pipelines/:id/stages/:stage_id":            {map[string]int64{"id": w.pipeline, "stage_id": w.stage}, map[string]any{"name": "Stolen"}},
		"DELETE /api/v1/pipelines/:id/stages/:stage_id":           {map[string]int64{"id": w.pipeline, "stage_id": w.stage}, nil},
		"GET /api/v1/imports/:id":                                 {rec("id", w.imp), nil},
		"POST /api/v1/trash/:type/:id/restore":                    {rec("id", w.deal), nil},
	}
}

var paramPattern = regexp.MustCompile(`:([a-z_]+)`)

// pathWords fill the path parameters that are words rather than ids: the trash's object type.
var pathWords = map[string]string{"type": "deal"}

func fill(path string, params map[string]int64) string {
	return paramPattern.ReplaceAllStringFunc(path, func(m string) string {
		if w, ok := pathWords[m[1:]]; ok {
			return w
		}
		return fmt.Sprint(params[m[1:]])
	})
}

// comparable drops the fields that differ between any two responses.
func comparable(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	delete(m, "request_id")
	delete(m, "instance")
	return m
}

// For every route with an id: B's user with A's ids gets 404 under B's header and 403 under A's, an
// existing id and a never-existing id are indistinguishable, and nothing of A changes.
func TestCrossTenantMatrixFromRouteTable(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	before := w.snapshot(t)
	fixtures := w.fixtures()
	outsider := w.team.Outsider
	seen := map[string]bool{}
	for _, r := range w.s.App.HTTP.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || !strings.Contains(r.Path, ":") || r.Method == http.MethodHead {
			continue
		}
		key := r.Method + " " + r.Path
		fx, ok := fixtures[key]
		if !ok {
			t.Errorf("route %s has no fixture in the cross-tenant matrix; add one", key)
			continue
		}
		seen[key] = true
		never := map[string]int64{}
		for k, v := range fx.params {
			never[k] = v + 1_000_000
		}
		pathRoute := strings.HasPrefix(r.Path, "/api/v1/organizations/")
		t.Run(key, func(t *testing.T) {
			send := func(params map[string]int64, org int64) apptest.Response {
				return w.s.Do(apptest.Req{Method: r.Method, Path: fill(r.Path, params), Token: outsider.Token, Org: org, Body: fx.body})
			}
			if pathRoute {
				// The organization comes from the path: not a member → 403, existing or not.
				a, n := send(fx.params, 0), send(never, 0)
				if a.Status != 403 || n.Status != 403 || a.Code() != "not_a_member" {
					t.Fatalf("A's org: %d %s; never-existing: %d %s", a.Status, a.Body, n.Status, n.Body)
				}
				if !jsonEqual(comparable(t, a.Body), comparable(t, n.Body)) {
					t.Fatalf("bodies differ: %s vs %s", a.Body, n.Body)
				}
				return
			}
			// Under B's own header: A's id is a 404 exactly like an id that never existed.
			a, n := send(fx.params, w.b), send(never, w.b)
			if a.Status != 404 || n.Status != 404 {
				t.Fatalf("under B's header: A's id %d %s; never-existing %d %s", a.Status, a.Body, n.Status, n.Body)
			}
			if !jsonEqual(comparable(t, a.Body), comparable(t, n.Body)) {
				t.Fatalf("A's id and a never-existing id are distinguishable:\n%s\n%s", a.Body, n.Body)
			}
			// Under A's header, which B may not use: 403 before anything is looked up.
			h := send(fx.params, w.a)
			if h.Status != 403 || h.Code() != "not_a_member" {
				t.Fatalf("under A's header: %d %s", h.Status, h.Body)
			}
		})
	}
	for key := range fixtures {
		if !seen[key] {
			t.Errorf("fixture %s matches no registered route", key)
		}
	}
	after := w.snapshot(t)
	for p, b := range before {
		if !bytes.Equal(b, after[p]) {
			t.Errorf("%s changed:\nbefore %s\nafter  %s", p, b, after[p])
		}
	}
}

// Tenant lists and analytics computed under B's header never contain A's data: B's lists
// are empty, and B's reports are exactly those of an organization without any record, while
// A's are not.
func TestListsNeverShowAnotherOrganization(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// A has a group of duplicates (its two contacts share an email); B sees none.
	for _, p := range []string{"/api/v1/contacts", "/api/v1/deals", "/api/v1/tasks", "/api/v1/contacts/duplicates"} {
		res := w.s.Must(200, apptest.Req{Method: "GET", Path: p, Token: w.team.Outsider.Token, Org: w.b})
		var page struct {
			Items []json.RawMessage `json:"items"`
			Total *int64            `json:"total"`
		}
		res.Decode(t, &page)
		if len(page.Items) != 0 || page.Total == nil || *page.Total != 0 {
			t.Errorf("%s under B shows %s", p, res.Body)
		}
	}
	for _, p := range []string{"/api/v1/contacts/export?format=ndjson", "/api/v1/deals/export?format=ndjson"} {
		if res := w.s.Must(200, apptest.Req{Method: "GET", Path: p, Token: w.team.Outsider.Token, Org: w.b}); len(res.Body) != 0 {
			t.Errorf("%s under B shows %s", p, res.Body)
		}
		if res := w.s.Must(200, apptest.Req{Method: "GET", Path: p, Token: w.team.Owner.Token, Org: w.a}); len(res.Body) == 0 {
			t.Errorf("%s under A shows nothing", p)
		}
	}
	empty := w.s.Register("empty")
	for _, p := range []string{"/api/v1/analytics/deals/summary", "/api/v1/analytics/deals/funnel",
		"/api/v1/analytics/deals/forecast"} {
		report := func(u apptest.User, org int64) string {
			return string(w.s.Must(200, apptest.Req{Method: "GET", Path: p, Token: u.Token, Org: org}).Body)
		}
		none := report(empty, empty.OrgID)
		if a := report(w.team.Owner, w.a); a == none {
			t.Fatalf("%s of A (one deal) is that of an empty organization: %s", p, a)
		}
		if b := report(w.team.Outsider, w.b); b != none {
			t.Errorf("%s under B shows data:\n%s\nwant that of an empty organization:\n%s", p, b, none)
		}
	}
}

type action struct {
	name   string
	method string
	path   string
	body   any
	want   map[string]int // by role
}

// Every role against every privileged action, with the status of the Roles table in the OpenAPI document.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// One record owned by the member, so "own" and "someone else's" can both be tried.
	mine := int64(w.s.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: w.team.Member.Token, Org: w.a,
		Body: map[string]any{"contact_id": w.contact, "title": "Member's", "amount": 5, "stage": "proposal"}}).JSON()["id"].(float64))
	all := func(owner, admin, manager, member int) map[string]int {
		return map[string]int{"owner": owner, "admin": admin, "manager": manager, "member": member}
	}
	comments := fmt.Sprintf("/api/v1/deals/%d/activities", w.deal)
	memberComment := func() string {
		c := w.s.Must(201, apptest.Req{Method: "POST", Path: comments, Token: w.team.Member.Token, Org: w.a,
			Body: map[string]any{"type": "comment", "payload": map[string]any{"text": "member's"}}}).JSON()
		return fmt.Sprintf("%s/%d", comments, int64(c["id"].(float64)))
	}
	theirs := memberComment()
	// trashed deletes a fresh deal, the owner's or the member's, and returns its restore path.
	trashed := func(whose string) string {
		u := w.team.Owner
		if whose == "member" {
			u = w.team.Member
		}
		d := int64(w.s.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: u.Token, Org: w.a,
			Body: map[string]any{"contact_id": w.contact, "title": "Trashed", "amount": 5}}).JSON()["id"].(float64))
		w.s.Must(204, apptest.Req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/deals/%d", d), Token: u.Token, Org: w.a})
		return fmt.Sprintf("/api/v1/trash/deal/%d/restore", d)
	}
	actions := []action{
		{"read deals", "GET", "/api/v1/deals", nil, all(200, 200, 200, 200)},
		{"filter by owner", "GET", fmt.Sprintf("/api/v1/deals?owner_id=%d", w.owner), nil, all(200, 200, 200, 403)},
		{"export contacts", "GET", "/api/v1/contacts/export", nil, all(200, 200, 200, 200)},
		{"export deals", "GET", "/api/v1/deals/export?format=ndjson", nil, all(200, 200, 200, 200)},
		{"export deals by owner", "GET", fmt.Sprintf("/api/v1/deals/export?owner_id=%d", w.owner), nil, all(200, 200, 200, 403)},
		{"create a contact for someone else", "POST", "/api/v1/contacts", map[string]any{"name": "X", "owner_id": w.owner}, all(201, 201, 201, 403)},
		{"update someone else's deal", "PATCH", fmt.Sprintf("/api/v1/deals/%d", w.deal), map[string]any{"title": "t"}, all(200, 200, 200, 403)},
		{"update own deal", "PATCH", fmt.Sprintf("/api/v1/deals/%d", mine), map[string]any{"title": "t2"}, all(200, 200, 200, 200)},
		{"roll a stage back", "PATCH", fmt.Sprintf("/api/v1/deals/%d", mine), map[string]any{"stage": "qualification"}, all(200, 200, 403, 403)},
		{"task on someone else's deal", "POST", "/api/v1/tasks", map[string]any{"deal_id": w.deal, "title": "t"}, all(201, 201, 201, 403)},
		{"comment on someone else's deal", "POST", fmt.Sprintf("/api/v1/deals/%d/activities", w.deal), map[string]any{"type": "comment", "payload": map[string]any{"text": "x"}}, all(201, 201, 201, 201)},
		{"edit the member's comment", "PATCH", theirs, map[string]any{"payload": map[string]any{"text": "edited"}}, all(403, 403, 403, 200)},
		{"delete the member's comment", "DELETE", "", nil, all(204, 204, 403, 204)},
		{"organization settings", "PATCH", fmt.Sprintf("/api/v1/organizations/%d", w.a), map[string]any{"name": "N"}, all(200, 200, 403, 403)},
		// Owners only; the owner's try names another organization, so it is refused and erases nothing.
		{"delete the organization", "DELETE", fmt.Sprintf("/api/v1/organizations/%d?confirm=Another", w.a), nil, all(400, 403, 403, 403)},
		{"list API keys", "GET", fmt.Sprintf("/api/v1/organizations/%d/api-keys", w.a), nil, all(200, 200, 403, 403)},
		{"create an API key", "POST", fmt.Sprintf("/api/v1/organizations/%d/api-keys", w.a), map[string]any{"name": "K", "role": "member"}, all(201, 201, 403, 403)},
		{"list invitations", "GET", fmt.Sprintf("/api/v1/organizations/%d/invitations", w.a), nil, all(200, 200, 403, 403)},
		{"invite a member", "POST", fmt.Sprintf("/api/v1/organizations/%d/invitations", w.a), map[string]any{"email": "matrix@a.example", "role": "member"}, all(201, 201, 403, 403)},
		{"invite an owner", "POST", fmt.Sprintf("/api/v1/organizations/%d/invitations", w.a), map[string]any{"email": "matrix.owner@a.example", "role": "owner"}, all(201, 403, 403, 403)},
		{"revoke an invitation", "DELETE", fmt.Sprintf("/api/v1/organizations/%d/invitations/%d", w.a, w.invitation), nil, all(204, 204, 403, 403)},
		{"read pipelines", "GET", "/api/v1/pipelines", nil, all(200, 200, 200, 200)},
		{"pipeline settings", "PATCH", fmt.Sprintf("/api/v1/pipelines/%d", w.pipeline), map[string]any{"name": "Renamed"}, all(200, 200, 403, 403)},
		{"stage settings", "PATCH", fmt.Sprintf("/api/v1/pipelines/%d/stages/%d", w.pipeline, w.stage), map[string]any{"probability": 40}, all(200, 200, 403, 403)},
		{"grant owner", "PATCH", fmt.Sprintf("/api/v1/organizations/%d/members/%d", w.a, w.team.Manager.ID), map[string]any{"role": "owner"}, all(200, 403, 403, 403)},
		{"read the trash", "GET", "/api/v1/trash", nil, all(200, 200, 200, 200)},
		{"restore someone else's deal", "POST", "owner", nil, all(200, 200, 200, 403)},
		{"restore own deal", "POST", "member", nil, all(200, 200, 200, 200)},
		{"analytics", "GET", "/api/v1/analytics/deals/funnel", nil, all(200, 200, 200, 200)},
		{"forecast", "GET", "/api/v1/analytics/deals/forecast", nil, all(200, 200, 200, 200)},
		{"velocity", "GET", "/api/v1/analytics/deals/velocity", nil, all(200, 200, 200, 200)},
		{"import contacts", "POST", "/api/v1/imports?type=contacts", csvFile("name\nImported\n"), all(202, 202, 202, 202)},
		{"read imports", "GET", "/api/v1/imports", nil, all(200, 200, 200, 200)},
		{"list duplicate contacts", "GET", "/api/v1/contacts/duplicates", nil, all(200, 200, 200, 200)},
		{"read a contact's history", "GET", fmt.Sprintf("/api/v1/contacts/%d/history", w.contact), nil, all(200, 200, 200, 200)},
		{"merge the owner's contacts", "POST", "", nil, all(200, 200, 200, 403)},
	}
	for _, a := range actions {
		for _, role := range []string{"member", "manager", "admin", "owner"} {
			// Rolling back needs a deal ahead of qualification each time.
			if strings.HasPrefix(a.name, "roll") {
				w.s.Must(200, apptest.Req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/deals/%d", mine), Token: w.team.Owner.Token, Org: w.a, Body: map[string]any{"stage": "proposal"}})
			}
			if strings.HasPrefix(a.name, "grant") {
				w.s.Must(200, apptest.Req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/organizations/%d/members/%d", w.a, w.team.Manager.ID), Token: w.team.Owner.Token, Body: map[string]any{"role": "manager"}})
			}
			path, body := a.path, a.body
			if strings.HasPrefix(a.name, "delete the member's comment") {
				path = memberComment() // each try deletes one
			}
			if strings.HasPrefix(a.name, "restore") {
				path = trashed(a.path) // each try restores one
			}
			if strings.HasPrefix(a.name, "merge") { // each try absorbs a new contact of the owner's into another
				into := w.asOwner(201, "POST", "/api/v1/contacts", map[string]any{"name": "Into"}).JSON()["id"]
				from := w.asOwner(201, "POST", "/api/v1/contacts", map[string]any{"name": "From"}).JSON()["id"]
				path, body = fmt.Sprintf("/api/v1/contacts/%v/merge", into), map[string]any{"from": []any{from}}
			}
			req := apptest.Req{Method: a.method, Path: path, Token: w.team.As(role).Token, Org: w.a, Body: body}
			if file, ok := body.(csvFile); ok {
				req.Body, req.Headers = string(file), map[string]string{"Content-Type": "text/csv"}
			}
			res := w.s.Do(req)
			if res.Status != a.want[role] {
				t.Errorf("%s as %s: %d, want %d (%s)", a.name, role, res.Status, a.want[role], res.Body)
			}
		}
	}
}

// Fields a client must never set are rejected, and nothing changes.
func TestMassAssignmentIsRejected(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	before := w.snapshot(t)
	for _, c := range []struct {
		method, path string
		body         map[string]any
	}{
		{"POST", "/api/v1/contacts", map[string]any{"name": "X", "organization_id": w.b}},
		{"POST", "/api/v1/contacts", map[string]any{"name": "X", "id": 999}},
		{"PATCH", fmt.Sprintf("/api/v1/contacts/%d", w.contact), map[string]any{"created_at": "2020-01-01T00:00:00Z"}},
		{"PATCH", fmt.Sprintf("/api/v1/deals/%d", w.deal), map[string]any{"organization_id": w.b}},
		{"PATCH", fmt.Sprintf("/api/v1/deals/%d", w.deal), map[string]any{"max_stage": "closed"}},
		{"PATCH", fmt.Sprintf("/api/v1/tasks/%d", w.task), map[string]any{"deal_id": w.deal}},
		{"PATCH", fmt.Sprintf("/api/v1/organizations/%d", w.a), map[string]any{"role": "owner"}},
		{"POST", "/api/v1/organizations", map[string]any{"name": "X", "id": 1}},
	} {
		res := w.s.Do(apptest.Req{Method: c.method, Path: c.path, Token: w.team.Owner.Token, Org: w.a, Body: c.body})
		if res.Status != 400 || res.Code() != "unknown_field" {
			t.Errorf("%s %s %v: %d %s", c.method, c.path, c.body, res.Status, res.Body)
		}
	}
	// A member cannot give their record to someone else.
	res := w.s.Do(apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: w.team.Member.Token, Org: w.a,
		Body: map[string]any{"contact_id": w.contact, "title": "x", "amount": 1, "owner_id": w.owner}})
	if res.Status != 403 {
		t.Errorf("member sets owner_id: %d %s", res.Status, res.Body)
	}
	after := w.snapshot(t)
	for p, b := range before {
		if !bytes.Equal(b, after[p]) {
			t.Errorf("%s changed", p)
		}
	}
}

// No response ever carries a password hash or a stored token hash.
func TestNoSecretsInResponses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var rows [][]byte
	for _, p := range []string{"/api/v1/users/me", fmt.Sprintf("/api/v1/organizations/%d/members", w.a), "/api/v1/organizations/me",
		fmt.Sprintf("/api/v1/organizations/%d/api-keys", w.a), fmt.Sprintf("/api/v1/organizations/%d/invitations", w.a)} {
		rows = append(rows, w.s.Must(200, apptest.Req{Method: "GET", Path: p, Token: w.team.Owner.Token, Org: w.a}).Body)
	}
	rows = append(rows, w.s.Must(200, apptest.Req{Method: "POST", Path: "/api/v1/auth/login",
		Body: map[string]any{"email": w.team.Owner.Email, "password": "password123"}}).Body)
	for _, b := range rows {
		for _, secret := range []string{"$argon2id$", "password_hash", "token_hash", "family_id"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("response contains %q: %s", secret, b)
			}
		}
	}
}

// csvFile is the body of an action sent as a text/csv file (an import).
type csvFile string

func jsonEqual(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
