package app_test

import (
	"fmt"
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// With a tracer provider, a request continues the caller's trace (traceparent): its server
// span is named by its route, the SQL statements it runs are its descendants, a job it
// enqueues is inserted under it, and its problem document carries the trace id.
func TestARequestIsTracedWithItsStatementsAndJobs(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	s := apptest.NewWithOptions(t, apptest.Config(), app.Options{TracerProvider: tp})
	owner := s.Register("tracer")

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	parent := map[string]string{"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"}
	missing := s.Do(apptest.Req{Method: "GET", Path: "/api/v1/deals/999999", Token: owner.Token, Org: owner.OrgID, Headers: parent})
	if missing.Status != http.StatusNotFound || missing.JSON()["trace_id"] != traceID {
		t.Fatalf("problem without the caller's trace id: %d %s", missing.Status, missing.Body)
	}

	exp.Reset()
	hook := s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/webhooks", Token: owner.Token, Org: owner.OrgID,
		Body: map[string]any{"url": "https://hooks.example.com/t", "events": []string{"*"}}}).JSON()
	s.Must(http.StatusAccepted, apptest.Req{Method: "POST", Path: fmt.Sprintf("/api/v1/webhooks/%v/ping", hook["id"]),
		Token: owner.Token, Org: owner.OrgID, Headers: parent})

	spans := exp.GetSpans()
	var server *tracetest.SpanStub
	for i := range spans {
		if spans[i].SpanKind == trace.SpanKindServer && spans[i].SpanContext.TraceID().String() == traceID {
			server = &spans[i]
		}
	}
	if server == nil {
		t.Fatalf("no server span in the caller's trace among %d spans", len(spans))
	}
	if server.Name != "POST /api/v1/webhooks/:id/ping" {
		t.Errorf("server span named %q", server.Name)
	}
	// Every span of the trace descends from the server span.
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, sp := range spans {
		byID[sp.SpanContext.SpanID()] = sp
	}
	descends := func(sp tracetest.SpanStub) bool {
		for p := sp.Parent.SpanID(); p.IsValid(); p = byID[p].Parent.SpanID() {
			if p == server.SpanContext.SpanID() {
				return true
			}
		}
		return false
	}
	var statements, inserts int
	for _, sp := range spans {
		if sp.SpanContext.TraceID().String() != traceID || sp.SpanContext.SpanID() == server.SpanContext.SpanID() {
			continue
		}
		if !descends(sp) {
			t.Errorf("span %q is in the trace but not under the request", sp.Name)
		}
		switch {
		case sp.SpanKind == trace.SpanKindClient && hasAttr(sp, "db.system.name", "postgresql"):
			statements++
		case sp.Name == "river.insert_many":
			inserts++
		}
	}
	if statements == 0 || inserts != 1 {
		t.Errorf("under the request: %d SQL statement spans (want some), %d job inserts (want 1)", statements, inserts)
	}
}

func hasAttr(sp tracetest.SpanStub, key, value string) bool {
	for _, kv := range sp.Attributes {
		if string(kv.Key) == key && kv.Value.AsString() == value {
			return true
		}
	}
	return false
}
