package tasks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/tasks"
	"github.com/mini-crm/crm/openapi"
	"github.com/mini-crm/crm/openapi/openapitest"
)

var roles = []string{"owner", "admin", "manager", "member"}

// clock is the pinned "now" of the service under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// start is the default "now" of the tests: noon UTC of 2030-01-15.
var start = time.Date(2030, 1, 15, 12, 0, 0, 0, time.UTC)

type env struct {
	*apptest.Server
	team       apptest.Team
	clock      *clock
	svc        *tasks.Service
	contact    int64 // a contact of the team's organization
	ownerDeal  int64 // a deal owned by the team's owner
	memberDeal int64 // a deal owned by the team's member
}

func newEnv(t *testing.T) env {
	t.Helper()
	s := apptest.New(t)
	e := env{Server: s, team: s.NewTeam(), clock: &clock{t: start}}
	e.svc = apptest.ModuleOf[*tasks.Module](s).Service()
	e.svc.SetClock(e.clock.Now)
	e.contact = id(e.must(http.StatusCreated, e.team.Owner, "POST", "/api/v1/contacts", map[string]any{"name": "Customer"}))
	e.ownerDeal = e.deal(e.team.Owner)
	e.memberDeal = e.deal(e.team.Member)
	return e
}

// as sends a request as u in the team's organization.
func (e env) as(u apptest.User, method, path string, body any) apptest.Response {
	e.T.Helper()
	return e.Do(apptest.Req{Method: method, Path: path, Body: body, Token: u.Token, Org: e.team.OrgID})
}

func (e env) must(want int, u apptest.User, method, path string, body any) map[string]any {
	e.T.Helper()
	res := e.as(u, method, path, body)
	if res.Status != want {
		e.T.Fatalf("%s %s as user %d: status %d, want %d; body %s", method, path, u.ID, res.Status, want, res.Body)
	}
	return res.JSON()
}

// deal creates a deal owned by u on the team's contact.
func (e env) deal(u apptest.User) int64 {
	e.T.Helper()
	return id(e.must(http.StatusCreated, u, "POST", "/api/v1/deals",
		map[string]any{"contact_id": e.contact, "title": "Deal", "amount": "100.00"}))
}

// task creates a task as the owner; fields override the defaults.
func (e env) task(dealID int64, fields map[string]any) map[string]any {
	e.T.Helper()
	body := map[string]any{"deal_id": dealID, "title": "Task"}
	for k, v := range fields {
		body[k] = v
	}
	return e.must(http.StatusCreated, e.team.Owner, "POST", "/api/v1/tasks", body)
}

// activities returns the deal's timeline, newest first.
func (e env) activities(dealID int64) []map[string]any {
	e.T.Helper()
	m := e.must(http.StatusOK, e.team.Owner, "GET", fmt.Sprintf("/api/v1/deals/%d/activities?page_size=100", dealID), nil)
	var out []map[string]any
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

func taskPath(id int64) string { return fmt.Sprintf("/api/v1/tasks/%d", id) }

func dealPath(id int64) string { return fmt.Sprintf("/api/v1/deals/%d", id) }

var (
	docOnce sync.Once
	doc     *openapi3.T
	docErr  error
)

// conforms checks a response body against a schema of the OpenAPI document.
func conforms(t *testing.T, schema string, body []byte) {
	t.Helper()
	docOnce.Do(func() { doc, docErr = openapitest.Parse(openapi.JSON()) })
	if docErr != nil {
		t.Fatal(docErr)
	}
	ref, ok := doc.Components.Schemas[schema]
	if !ok {
		t.Fatalf("no schema %s in the document", schema)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		t.Fatalf("body does not conform to %s: %v\n%s", schema, err, body)
	}
}
