package deals_test

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// A deal renders its pipeline, the expected close date and probability a client sets, the
// probability in effect (the override, else the stage's), and the times the service keeps.
func TestPipelineFieldsRenderAndDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, nil)
	var def int64
	if err := e.sql.QueryRow(context.Background(),
		"SELECT id FROM pipelines WHERE organization_id = $1 AND is_default", e.team.OrgID).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if num(d["pipeline_id"]) != def || d["stage"] != "qualification" || d["expected_close_date"] != nil ||
		d["probability"] != nil || num(d["effective_probability"]) != 10 || d["closed_at"] != nil ||
		d["stage_entered_at"] != d["created_at"] {
		t.Fatalf("defaults: %v", d)
	}
	d = e.deal(e.team.Owner, map[string]any{"expected_close_date": "2026-12-24", "probability": 45, "stage": "proposal"})
	if d["expected_close_date"] != "2026-12-24" || num(d["probability"]) != 45 || num(d["effective_probability"]) != 45 {
		t.Fatalf("set: %v", d)
	}
	// The override stays across a stage change; clearing it falls back to the stage's.
	got := e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"stage": "negotiation"})
	if num(got["effective_probability"]) != 45 {
		t.Fatalf("override lost on a stage change: %v", got)
	}
	got = e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"probability": nil, "expected_close_date": nil})
	if got["probability"] != nil || num(got["effective_probability"]) != 60 || got["expected_close_date"] != nil {
		t.Fatalf("cleared: %v", got)
	}
	for _, body := range []map[string]any{{"probability": 101}, {"probability": -1}, {"expected_close_date": "24.12.2026"}} {
		if res := e.as(e.team.Owner, "PATCH", dealPath(id(d)), body); res.Status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", body, res.Status, res.Body)
		}
	}
}

// closed_at is set when a deal is won or lost, set anew between won and lost, cleared when it
// is reopened; stage_entered_at moves with each stage change only.
func TestClosedAtAndStageEnteredAt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, nil)
	entered := d["stage_entered_at"]
	ts := func(v any) time.Time {
		tm, err := time.Parse(time.RFC3339, v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	won := e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"status": "won"})
	if won["closed_at"] == nil || won["stage_entered_at"] != entered {
		t.Fatalf("won: %v", won)
	}
	time.Sleep(1100 * time.Millisecond)
	lost := e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"status": "lost"})
	if lost["closed_at"] == nil || !ts(lost["closed_at"]).After(ts(won["closed_at"])) {
		t.Fatalf("lost after won: %v then %v", won["closed_at"], lost["closed_at"])
	}
	open := e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"status": "in_progress", "stage": "proposal"})
	if open["closed_at"] != nil || !ts(open["stage_entered_at"]).After(ts(entered)) {
		t.Fatalf("reopened: %v", open)
	}
	created := e.deal(e.team.Owner, map[string]any{"status": "lost"})
	if created["closed_at"] == nil {
		t.Fatalf("created lost: %v", created)
	}
}

// Fields only the service sets are refused by name on create and PATCH.
func TestReadOnlyFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, nil)
	for _, f := range []string{"effective_probability", "closed_at", "stage_entered_at"} {
		res := e.as(e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{f: nil})
		errs, _ := res.JSON()["errors"].([]any)
		if res.Status != http.StatusBadRequest || res.Code() != "read_only_field" || len(errs) != 1 ||
			errs[0].(map[string]any)["field"] != f {
			t.Errorf("PATCH %s: %d %s", f, res.Status, res.Body)
		}
		res = e.as(e.team.Owner, "POST", "/api/v1/deals", map[string]any{"contact_id": e.contact, "title": "D", "amount": "1", f: 1})
		if res.Status != http.StatusBadRequest || res.Code() != "read_only_field" {
			t.Errorf("POST %s: %d %s", f, res.Status, res.Body)
		}
	}
}
