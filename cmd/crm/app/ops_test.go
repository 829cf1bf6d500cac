package app_test

import (
	"strings"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	if res := s.Must(200, apptest.Req{Method: "GET", Path: "/health"}); res.JSON()["status"] != "ok" {
		t.Fatalf("health %s", res.Body)
	}
	s.Must(200, apptest.Req{Method: "GET", Path: "/ready"})
	s.Must(404, apptest.Req{Method: "GET", Path: "/api/v1/nothing-here"})
	res := s.Must(200, apptest.Req{Method: "GET", Path: "/metrics"})
	for _, want := range []string{
		`http_requests_total{method="GET",route="/health",status="200"} 1`,
		`http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		"http_request_duration_seconds_bucket", "db_pool_max_connections", "db_scan_slots", "go_goroutines",
	} {
		if !strings.Contains(string(res.Body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if res.Header.Get("X-Request-Id") == "" {
		t.Error("no request id")
	}

	// With the database gone, readiness says so (and liveness does not).
	s.App.DB.Close()
	res = s.Do(apptest.Req{Method: "GET", Path: "/ready"})
	if res.Status != 503 || res.Header.Get("Content-Type") != "application/problem+json" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("ready without database: %d %s", res.Status, res.Body)
	}
	s.Must(200, apptest.Req{Method: "GET", Path: "/health"})
}
