package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// personOnly says which routes only a person may use (API-2 §10): everything about signing in
// and a person's own account and organizations, and every route that grants or manages access
// in an organization. It is a rule over paths, so that a route added later under one of them
// (an invitation, a webhook) is held to it without being listed.
func personOnly(method, path string) bool {
	const org = "/api/v1/organizations/:org_id"
	switch {
	case strings.HasPrefix(path, "/api/v1/auth/"),
		path == "/api/v1/users/me", strings.HasPrefix(path, "/api/v1/users/me/"),
		path == "/api/v1/organizations/me",
		method == http.MethodPost && path == "/api/v1/organizations",
		method != http.MethodGet && strings.HasPrefix(path, org+"/members"),
		method == http.MethodDelete && path == org,
		strings.Contains(path, "/invitations"),
		strings.HasPrefix(path, org+"/api-keys"),
		strings.HasPrefix(path, "/api/v1/webhook"):
		return true
	}
	return false
}

// Every route of the route table, sent with an admin API key of organization A and no
// X-Organization-Id: the person-only ones answer 403 api_key_not_allowed, to any key (a revoked
// or an unknown one too, before any lookup), and change nothing; every other route lets the
// key in, acting in A.
func TestAPIKeysOnEveryRoute(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	before := w.snapshot(t)
	keys := fmt.Sprintf("/api/v1/organizations/%d/api-keys", w.a)
	token := func() string {
		return w.asOwner(201, "POST", keys, map[string]any{"name": "matrix", "role": "admin"}).JSON()["token"].(string)
	}
	live, revoked := token(), token()
	var revokedID int64
	for _, k := range w.asOwner(200, "GET", keys+"?page_size=100", nil).JSON()["items"].([]any) {
		if m := k.(map[string]any); m["prefix"] == revoked[4:12] {
			revokedID = int64(m["id"].(float64))
		}
	}
	w.asOwner(204, "DELETE", fmt.Sprintf("%s/%d", keys, revokedID), nil)
	unknown := "crm_" + strings.Repeat("x", 43)
	fixtures := w.fixtures()
	type route struct {
		key, method, path string
		body              any
	}
	var people, others []route
	for _, r := range w.s.App.HTTP.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == http.MethodHead || r.Path == "/api/v1/openapi.json" {
			continue
		}
		rt := route{key: r.Method + " " + r.Path, method: r.Method, path: r.Path}
		if fx, ok := fixtures[rt.key]; ok {
			rt.path, rt.body = fill(r.Path, fx.params), fx.body
		} else if strings.Contains(r.Path, ":") {
			continue // TestCrossTenantMatrixFromRouteTable requires a fixture for every such route
		}
		if personOnly(r.Method, r.Path) {
			people = append(people, rt)
		} else {
			others = append(others, rt)
		}
	}
	if len(people) < 12 || len(others) < 15 {
		t.Fatalf("%d person-only and %d other routes: the route table was not walked", len(people), len(others))
	}
	send := func(rt route, token string) apptest.Response {
		return w.s.Do(apptest.Req{Method: rt.method, Path: rt.path, Token: token, Body: rt.body})
	}
	for _, rt := range people {
		for name, tok := range map[string]string{"live": live, "revoked": revoked, "unknown": unknown} {
			if res := send(rt, tok); res.Status != 403 || res.Code() != "api_key_not_allowed" {
				t.Errorf("%s with a %s key: %d %s, want 403 api_key_not_allowed", rt.key, name, res.Status, res.Body)
			}
		}
	}
	after := w.snapshot(t)
	for p, b := range before {
		if p == keys {
			continue // revoked_at of the key revoked above
		}
		if string(b) != string(after[p]) {
			t.Errorf("%s changed:\nbefore %s\nafter  %s", p, b, after[p])
		}
	}
	for _, rt := range others {
		res := send(rt, live)
		if res.Status == 401 || res.Status == 429 || res.Status >= 500 ||
			(res.Status == 400 && strings.Contains(string(res.Body), "X-Organization-Id")) ||
			res.Code() == "api_key_not_allowed" || res.Code() == "not_a_member" {
			t.Errorf("%s with a key: %d %s, want the key let in", rt.key, res.Status, res.Body)
		}
		if res.Header.Get("RateLimit-Limit") == "" {
			t.Errorf("%s with a key: no RateLimit-Limit header", rt.key)
		}
	}
}
