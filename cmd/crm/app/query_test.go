package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/openapi"
	"github.com/mini-crm/crm/openapi/openapitest"
)

// Every route refuses a query parameter it does not take with 400 unknown_parameter naming
// exactly the unknown ones, ignores names starting with "_", and takes every parameter the
// OpenAPI document gives it. The unknown name is refused before the handler runs, so no
// route (DELETE included) does anything. The OpenAPI document itself is a static file, not an
// operation, and ignores its query.
func TestUnknownQueryParametersAreRefusedOnEveryRoute(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	before := w.snapshot(t)
	doc, err := openapitest.Parse(openapi.JSON())
	if err != nil {
		t.Fatal(err)
	}
	fixtures := w.fixtures()
	for _, op := range openapitest.Operations(doc) {
		if !strings.HasPrefix(op.Path, "/api/v1/") || op.Path == openapi.JSONPath {
			continue
		}
		route := op.Method + " " + strings.NewReplacer("{", ":", "}", "").Replace(op.Path)
		fx, ok := fixtures[route]
		if strings.Contains(op.Path, "{") && !ok {
			t.Errorf("%s has no fixture in the cross-tenant matrix", route)
			continue
		}
		q := url.Values{"statuss": {"won"}, "_cache": {"1"}}
		documented := openapitest.QueryParams(doc, op)
		for _, name := range documented {
			q.Set(name, "")
		}
		res := w.s.Do(apptest.Req{Method: op.Method, Path: fill(route[len(op.Method)+1:], fx.params) + "?" + q.Encode(),
			Token: w.team.Owner.Token, Org: w.a, Body: fx.body})
		var named []string
		if res.Status == http.StatusBadRequest {
			for _, e := range res.JSON()["errors"].([]any) {
				named = append(named, e.(map[string]any)["field"].(string))
			}
		}
		if res.Status != http.StatusBadRequest || res.Code() != "unknown_parameter" || len(named) != 1 || named[0] != "statuss" {
			t.Errorf("%s with %v (documented: %v): %d %s", route, q.Encode(), documented, res.Status, res.Body)
		}
	}
	after := w.snapshot(t)
	for p, b := range before {
		if string(b) != string(after[p]) {
			t.Errorf("%s changed:\nbefore %s\nafter  %s", p, b, after[p])
		}
	}
}

// A bad request names every invalid parameter at once, the page's and the filters' together.
func TestEveryInvalidParameterIsNamedAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for path, want := range map[string][]string{
		"/api/v1/deals?status=bogus&page_size=1000&order=up":                      {"page_size", "status", "order"},
		"/api/v1/tasks?only_open=maybe&page=0&deal_id=x":                          {"page", "deal_id", "only_open"},
		"/api/v1/tasks?is_done=x&overdue=1&order_by=title&order=up&assignee_id=0": {"is_done", "overdue", "order_by", "order", "assignee_id"},
		"/api/v1/contacts?owner_id=-1&include_total=perhaps":                      {"include_total", "owner_id"},
		"/api/v1/analytics/deals/summary?days=0&pipeline_id=x":                    {"days", "pipeline_id"},
		"/api/v1/analytics/deals/forecast?from=2026-13&months=25&pipeline_id=0":   {"from", "months", "pipeline_id"},
		"/api/v1/analytics/deals/velocity?days=366&pipeline_id=x":                 {"days", "pipeline_id"},
	} {
		res := w.s.Do(apptest.Req{Method: "GET", Path: path, Token: w.team.Owner.Token, Org: w.a})
		if res.Status != http.StatusBadRequest || res.Code() != "invalid_query" {
			t.Errorf("%s: %d %s", path, res.Status, res.Body)
			continue
		}
		got := map[string]bool{}
		for _, e := range res.JSON()["errors"].([]any) {
			got[e.(map[string]any)["field"].(string)] = true
		}
		for _, f := range want {
			if !got[f] {
				t.Errorf("%s: %s is not named in %s", path, f, res.Body)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: named %v, want %v", path, got, want)
		}
	}
}
