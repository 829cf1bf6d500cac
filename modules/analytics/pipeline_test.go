package analytics_test

import (
	"fmt"
	"net/http"
	"testing"
)

// The summary of one pipeline counts only its deals, new deals included; without
// pipeline_id it covers every pipeline, as in part 1. A pipeline of another organization
// is 404.
func TestSummaryOfOnePipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.newOrg("Pipelines")
	pl := o.must(http.StatusCreated, "POST", "/api/v1/pipelines", map[string]any{"name": "Hiring", "stages": []map[string]any{{"key": "screen"}}})
	plID := id(pl)
	o.deal(map[string]any{"amount": "10.00"})
	won := o.deal(map[string]any{"amount": "20.00", "pipeline_id": plID})
	o.patch(won, map[string]any{"status": "won"})
	o.deal(map[string]any{"amount": "5.00", "pipeline_id": plID})

	all := o.report(summaryPath).JSON()
	if num(all["new_deals"].(map[string]any)["count"]) != 3 || num(all["by_status"].(map[string]any)["new"].(map[string]any)["count"]) != 2 {
		t.Fatalf("every pipeline: %v", all)
	}
	one := o.report(fmt.Sprintf("%s?pipeline_id=%d", summaryPath, plID)).JSON()
	byStatus := one["by_status"].(map[string]any)
	if num(one["new_deals"].(map[string]any)["count"]) != 2 || num(byStatus["new"].(map[string]any)["count"]) != 1 ||
		num(byStatus["won"].(map[string]any)["count"]) != 1 || fmt.Sprint(one["win_rate"]) != "100" {
		t.Fatalf("one pipeline: %v", one)
	}
	other := e.newOrg("Other")
	if res := other.do("GET", fmt.Sprintf("%s?pipeline_id=%d", summaryPath, plID), nil); res.Status != http.StatusNotFound || res.Code() != "pipeline_not_found" {
		t.Fatalf("foreign pipeline: %d %s", res.Status, res.Body)
	}
	if res := o.do("GET", summaryPath+"?pipeline_id=x", nil); res.Status != http.StatusBadRequest || res.Code() != "invalid_query" {
		t.Fatalf("bad pipeline_id: %d %s", res.Status, res.Body)
	}
}

func num(v any) int64 { return int64(v.(float64)) }

// The funnel of a pipeline lists its stages in their current order; reached is read from the
// stage history under that order, so reordering stages changes it with no rewrite.
func TestFunnelOfOnePipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.newOrg("Funnel")
	pl := o.must(http.StatusCreated, "POST", "/api/v1/pipelines", map[string]any{"name": "Hiring",
		"stages": []map[string]any{{"key": "a"}, {"key": "b"}, {"key": "c"}}})
	plID := id(pl)
	o.deal(map[string]any{"pipeline_id": plID})                                        // a
	o.patch(o.deal(map[string]any{"pipeline_id": plID}), map[string]any{"stage": "c"}) // a, c
	back := o.deal(map[string]any{"pipeline_id": plID, "stage": "b"})                  // b, then a
	o.patch(back, map[string]any{"stage": "a"})
	o.deal(nil) // another pipeline
	funnel := func() string {
		t.Helper()
		var out string
		for _, st := range o.report(fmt.Sprintf("%s?pipeline_id=%d", funnelPath, plID)).JSON()["stages"].([]any) {
			m := st.(map[string]any)
			out += fmt.Sprintf("%s:%d/%d ", m["stage"], num(m["count"]), num(m["reached"]))
		}
		return out
	}
	if got := funnel(); got != "a:2/3 b:0/2 c:1/1 " {
		t.Fatalf("funnel %q", got)
	}
	var c int64
	for _, s := range pl["stages"].([]any) {
		if st := s.(map[string]any); st["key"] == "c" {
			c = id(st)
		}
	}
	o.must(http.StatusOK, "PATCH", fmt.Sprintf("/api/v1/pipelines/%d/stages/%d", plID, c), map[string]any{"position": 1})
	if got := funnel(); got != "c:1/3 a:2/3 b:0/1 " {
		t.Fatalf("funnel after the reorder %q", got)
	}
	if res := e.newOrg("Other").do("GET", fmt.Sprintf("%s?pipeline_id=%d", funnelPath, plID), nil); res.Status != http.StatusNotFound {
		t.Fatalf("foreign pipeline: %d %s", res.Status, res.Body)
	}
}
