package deals_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// dealUpdated returns the changes of the deal's deal_updated activities, newest first.
func (e env) dealUpdated(dealID int64) []string {
	e.T.Helper()
	var out []string
	for _, a := range e.activities(dealID) {
		if a["type"] == "deal_updated" {
			b, _ := json.Marshal(a["payload"])
			out = append(out, string(b))
		}
	}
	return out
}

// A PATCH that changes fields other than status, stage and pipeline appends one deal_updated
// activity with each such field before and after, rendered as GET renders it; status and
// stage keep their own activities, pipeline_id its pipeline_changed, and a PATCH that
// changes nothing, or only those, appends no deal_updated.
func TestDealUpdatedActivityRecordsFieldChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	d := e.deal(owner, map[string]any{"title": "Website", "amount": "100.00"})
	path := dealPath(id(d))
	other := id(e.must(http.StatusCreated, owner, "POST", "/api/v1/contacts", map[string]any{"name": "Other"}))

	e.must(http.StatusOK, owner, "PATCH", path, map[string]any{"amount": 150, "title": "Website and shop"})
	e.must(http.StatusOK, owner, "PATCH", path, map[string]any{"amount": "150.00", "title": "Website and shop"}) // nothing
	e.must(http.StatusOK, owner, "PATCH", path, map[string]any{"status": "in_progress", "stage": "proposal"})    // own activities only
	e.must(http.StatusOK, owner, "PATCH", path, map[string]any{"stage": "negotiation", "expected_close_date": "2030-01-15",
		"probability": 40, "contact_id": other, "owner_id": e.team.Manager.ID, "lost_reason": "none yet"})
	e.must(http.StatusOK, owner, "PATCH", path, map[string]any{"probability": nil, "lost_reason": nil, "currency": "EUR"})

	want := []string{
		`{"changes":{"currency":{"from":"USD","to":"EUR"},"lost_reason":{"from":"none yet","to":null},"probability":{"from":40,"to":null}}}`,
		`{"changes":{"contact_id":{"from":` + jsonOf(e.contact) + `,"to":` + jsonOf(other) + `},"expected_close_date":{"from":null,"to":"2030-01-15"},` +
			`"lost_reason":{"from":null,"to":"none yet"},"owner_id":{"from":` + jsonOf(owner.ID) + `,"to":` + jsonOf(e.team.Manager.ID) + `},` +
			`"probability":{"from":null,"to":40}}}`,
		`{"changes":{"amount":{"from":"100.00","to":"150.00"},"title":{"from":"Website","to":"Website and shop"}}}`,
	}
	got := e.dealUpdated(id(d))
	if len(got) != len(want) {
		t.Fatalf("deal_updated activities %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("activity %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	// In the PATCH that also moved the stage, stage_changed comes first, then deal_updated.
	acts := e.activities(id(d))
	if acts[1]["type"] != "deal_updated" || acts[2]["type"] != "stage_changed" || int64(acts[1]["author_id"].(float64)) != owner.ID {
		t.Errorf("timeline %v", typesOf(acts))
	}

	// A move to another pipeline records pipeline_changed, and deal_updated only for the rest.
	pl := e.must(http.StatusCreated, owner, "POST", "/api/v1/pipelines", map[string]any{"name": "Other", "stages": []any{map[string]any{"key": "first"}}})
	e.must(http.StatusOK, owner, "PATCH", path, map[string]any{"pipeline_id": pl["id"]})
	if acts := e.activities(id(d)); acts[0]["type"] != "pipeline_changed" || len(e.dealUpdated(id(d))) != len(want) {
		t.Errorf("after the pipeline move: %v", typesOf(acts))
	}
	e.must(http.StatusOK, owner, "PATCH", path, map[string]any{"pipeline_id": 0 + num(d["pipeline_id"]), "title": "Back"})
	if acts := e.activities(id(d)); acts[0]["type"] != "deal_updated" || acts[1]["type"] != "pipeline_changed" {
		t.Errorf("after the move back with a title: %v", typesOf(acts))
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
