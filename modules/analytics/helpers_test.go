package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/platform/config"
)

const (
	summaryPath = "/api/v1/analytics/deals/summary"
	funnelPath  = "/api/v1/analytics/deals/funnel"
)

type env struct {
	*apptest.Server
	// sql is a connection of its own as the database owner: tests read the deals table and
	// the read model below the application's privileges and row-level security, and
	// tamper with the read model to tell a cached report from a computed one.
	sql *pgx.Conn
}

func newEnv(t *testing.T) env { return newEnvWith(t, apptest.Config()) }

func newEnvWith(t testing.TB, cfg config.Config) env {
	t.Helper()
	s := apptest.NewWith(t, cfg)
	conn, err := pgx.Connect(context.Background(), s.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return env{Server: s, sql: conn}
}

// org is an organization seen through one of its users, with a contact to hang deals on.
type org struct {
	e       env
	user    apptest.User
	id      int64
	contact int64
}

func (e env) org(u apptest.User, orgID int64) org {
	e.T.Helper()
	o := org{e: e, user: u, id: orgID}
	o.contact = id(o.must(http.StatusCreated, "POST", "/api/v1/contacts", map[string]any{"name": "Customer"}))
	return o
}

// newOrg registers a user with an organization of their own (default currency USD).
func (e env) newOrg(name string) org {
	e.T.Helper()
	u := e.Register(name)
	return e.org(u, u.OrgID)
}

func (o org) do(method, path string, body any) apptest.Response {
	o.e.T.Helper()
	return o.e.Do(apptest.Req{Method: method, Path: path, Body: body, Token: o.user.Token, Org: o.id})
}

func (o org) must(want int, method, path string, body any) map[string]any {
	o.e.T.Helper()
	res := o.do(method, path, body)
	if res.Status != want {
		o.e.T.Fatalf("%s %s: status %d, want %d; body %s", method, path, res.Status, want, res.Body)
	}
	return res.JSON()
}

// deal creates a deal; fields override the defaults (amount 100.00).
func (o org) deal(fields map[string]any) int64 {
	o.e.T.Helper()
	body := map[string]any{"contact_id": o.contact, "title": "Deal", "amount": "100.00"}
	for k, v := range fields {
		body[k] = v
	}
	return id(o.must(http.StatusCreated, "POST", "/api/v1/deals", body))
}

func (o org) patch(dealID int64, fields map[string]any) {
	o.e.T.Helper()
	o.must(http.StatusOK, "PATCH", fmt.Sprintf("/api/v1/deals/%d", dealID), fields)
}

func (o org) remove(dealID int64) {
	o.e.T.Helper()
	o.must(http.StatusNoContent, "DELETE", fmt.Sprintf("/api/v1/deals/%d", dealID), nil)
}

// report GETs an analytics path and checks the success headers.
func (o org) report(path string) apptest.Response {
	o.e.T.Helper()
	res := o.do("GET", path, nil)
	if res.Status != http.StatusOK {
		o.e.T.Fatalf("GET %s: status %d; body %s", path, res.Status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		o.e.T.Fatalf("GET %s: content type %q", path, ct)
	}
	return res
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

// sameJSON fails unless got and want decode to the same JSON value.
func sameJSON(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decode %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("decode expected %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got  %s\nwant %s", got, compact(want))
	}
}

func compact(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// emptySummary and emptyFunnel are the reports of an organization without deals.
const emptySummary = `{
	"by_status": {
		"new": {"count": 0, "amount": {}}, "in_progress": {"count": 0, "amount": {}},
		"won": {"count": 0, "amount": {}}, "lost": {"count": 0, "amount": {}}
	},
	"won_average_amount": {}, "win_rate": null, "new_deals": {"days": 30, "count": 0}
}`

const emptyFunnel = `{"stages": [
	{"stage": "qualification", "count": 0, "by_status": {"new": 0, "in_progress": 0, "won": 0, "lost": 0}, "reached": 0, "conversion_from_previous": null},
	{"stage": "proposal", "count": 0, "by_status": {"new": 0, "in_progress": 0, "won": 0, "lost": 0}, "reached": 0, "conversion_from_previous": null},
	{"stage": "negotiation", "count": 0, "by_status": {"new": 0, "in_progress": 0, "won": 0, "lost": 0}, "reached": 0, "conversion_from_previous": null},
	{"stage": "closed", "count": 0, "by_status": {"new": 0, "in_progress": 0, "won": 0, "lost": 0}, "reached": 0, "conversion_from_previous": null}
]}`
