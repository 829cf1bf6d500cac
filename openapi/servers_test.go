package openapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The document names its servers so that generated clients and the reference page know
// where to send requests. The first is the service itself, relative: the reference page may
// call only the origin it was loaded from (its Content-Security-Policy is connect-src
// 'self'), and tools that match requests against the document (the e2e runner) must find an
// operation whatever address the service listens on. Every server is a root: the paths
// carry /api/v1 themselves, and /health, /ready, /metrics and /docs are at the root.
func TestServers(t *testing.T) {
	t.Parallel()
	doc := load(t)
	if len(doc.Servers) < 2 {
		t.Fatalf("servers %v: want the service itself (/) and a local one", doc.Servers)
	}
	if doc.Servers[0].URL != "/" {
		t.Errorf("the first server is %q, want /", doc.Servers[0].URL)
	}
	for _, s := range doc.Servers {
		if s.Description == "" {
			t.Errorf("server %s has no description", s.URL)
		}
		u, err := url.Parse(s.URL)
		if err != nil {
			t.Errorf("server %s: %v", s.URL, err)
			continue
		}
		if strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
			t.Errorf("server %s is not a root: paths already start with /api/v1 or at /", s.URL)
		}
		if u.Host != "" && u.Scheme != "http" && u.Scheme != "https" {
			t.Errorf("server %s: scheme %q", s.URL, u.Scheme)
		}
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/api/v1/deals/1"}, Header: http.Header{}}
	if r, _, err := router.FindRoute(req); err != nil || r.Path != "/api/v1/deals/{id}" {
		t.Errorf("a request without a host does not find its operation: %v", err)
	}
}
