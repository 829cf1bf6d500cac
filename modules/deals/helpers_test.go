package deals_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

var roles = []string{"owner", "admin", "manager", "member"}

type env struct {
	*apptest.Server
	team    apptest.Team
	contact int64 // a contact of the team's organization, owned by the owner
	// sql is a connection of its own as the database owner: tests inspect and tamper with
	// tables below the application's privileges (and any row-level security).
	sql *pgx.Conn
}

func newEnv(t testing.TB) env {
	s := apptest.New(t)
	e := env{Server: s, team: s.NewTeam()}
	conn, err := pgx.Connect(context.Background(), s.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	e.sql = conn
	e.contact = id(e.must(http.StatusCreated, e.team.Owner, "POST", "/api/v1/contacts", map[string]any{"name": "Customer"}))
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

// deal creates a deal as u on the team's contact; fields override the defaults.
func (e env) deal(u apptest.User, fields map[string]any) map[string]any {
	e.T.Helper()
	body := map[string]any{"contact_id": e.contact, "title": "Deal", "amount": "100.00"}
	for k, v := range fields {
		body[k] = v
	}
	return e.must(http.StatusCreated, u, "POST", "/api/v1/deals", body)
}

// activities returns the deal's timeline, newest first.
func (e env) activities(dealID int64) []map[string]any {
	e.T.Helper()
	m := e.must(http.StatusOK, e.team.Owner, "GET", activitiesPath(dealID)+"?page_size=100", nil)
	var out []map[string]any
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

func num(v any) int64 { return int64(v.(float64)) }

func dealPath(id int64) string { return fmt.Sprintf("/api/v1/deals/%d", id) }

func activitiesPath(id int64) string { return fmt.Sprintf("/api/v1/deals/%d/activities", id) }

// typesOf lists the activity types of a timeline with their from/to, oldest first.
func typesOf(acts []map[string]any) []string {
	var out []string
	for i := len(acts) - 1; i >= 0; i-- {
		a := acts[i]
		p := a["payload"].(map[string]any)
		switch a["type"] {
		case "system":
			out = append(out, "system:"+fmt.Sprint(p["event"]))
		case "comment":
			out = append(out, "comment:"+fmt.Sprint(p["text"]))
		case "deal_updated":
			changes, _ := p["changes"].(map[string]any)
			out = append(out, "deal_updated:"+strings.Join(slices.Sorted(maps.Keys(changes)), ","))
		default:
			out = append(out, fmt.Sprintf("%s:%v>%v", a["type"], p["from"], p["to"]))
		}
	}
	return out
}
