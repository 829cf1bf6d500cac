package app_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/openapi"
	"github.com/mini-crm/crm/openapi/openapitest"
)

// The routes registered in fiber and the operations of the OpenAPI document are the same
// set, both ways (fiber's automatic HEAD for every GET aside). The document was written
// contract first, before the handlers; while operations were being built, this test skipped them
// from an explicit list that could only shrink. Every operation exists now, so the list is
// gone: a new route needs its description, and a new description its route.
func TestRoutesMatchTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	doc, err := openapitest.Parse(openapi.JSON())
	if err != nil {
		t.Fatal(err)
	}

	// Keyed by method and path shape, so that a difference in parameter names is reported
	// as such rather than as a missing route.
	documented := map[string]openapitest.Operation{}
	for _, op := range openapitest.Operations(doc) {
		documented[op.Method+" "+openapitest.Shape(op.Path)] = op
	}
	routes := s.App.HTTP.GetRoutes(true) // without middleware (Use) entries
	hasGet := map[string]bool{}
	for _, r := range routes {
		if r.Method == http.MethodGet {
			hasGet[r.Path] = true
		}
	}
	registered := map[string]openapitest.Operation{}
	for _, r := range routes {
		if r.Method == http.MethodHead && hasGet[r.Path] {
			continue
		}
		tmpl, ok := openapitest.FromFiber(r.Path)
		if !ok {
			t.Errorf("route %s %s has an optional parameter or a wildcard, which an OpenAPI path cannot describe", r.Method, r.Path)
			continue
		}
		registered[r.Method+" "+openapitest.Shape(tmpl)] = openapitest.Operation{Method: r.Method, Path: tmpl}
	}

	keys := make([]string, 0, len(registered))
	for key := range registered {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		route := registered[key]
		op, ok := documented[key]
		switch {
		case !ok:
			t.Errorf("route %s is registered but not documented in openapi/openapi.yaml", route)
		case op.Path != route.Path:
			t.Errorf("route %s is documented as %s: use the same parameter names", route, op)
		}
	}
	var missing []string
	for key, op := range documented {
		if _, ok := registered[key]; !ok {
			missing = append(missing, op.String())
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("%s is documented in openapi/openapi.yaml but no route is registered", m)
	}
}

// The document and the reference page are public: no token, no organization.
func TestDocumentationIsServedWithoutAuthentication(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	res := s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: openapi.JSONPath})
	if !bytes.Equal(res.Body, openapi.JSON()) || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s does not serve the document as application/json", openapi.JSONPath)
	}
	res = s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/docs"})
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !bytes.Contains(res.Body, []byte("swagger-ui")) {
		t.Fatalf("GET /docs does not serve the reference page: %.200s", res.Body)
	}
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/docs/swagger-ui-bundle.js"})
}
