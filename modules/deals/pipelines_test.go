package deals_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// pipeline creates a pipeline of the team's organization with stages of the given keys.
func (e env) pipeline(name string, keys ...string) map[string]any {
	e.T.Helper()
	var stages []map[string]any
	for _, k := range keys {
		stages = append(stages, map[string]any{"key": k, "probability": 20})
	}
	return e.must(http.StatusCreated, e.team.Owner, "POST", "/api/v1/pipelines", map[string]any{"name": name, "stages": stages})
}

// A deal created in a pipeline starts at its first stage; a stage that is not one of the
// pipeline's keys is 400 unknown_stage listing them; a pipeline of another organization is
// 404, like any foreign id.
func TestCreateInAPipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pl := e.pipeline("Hiring", "screen", "interview", "offer")
	d := e.deal(e.team.Member, map[string]any{"pipeline_id": id(pl)})
	if num(d["pipeline_id"]) != id(pl) || d["stage"] != "screen" || num(d["effective_probability"]) != 20 {
		t.Fatalf("deal %v", d)
	}
	d = e.deal(e.team.Member, map[string]any{"pipeline_id": id(pl), "stage": "offer"})
	if d["stage"] != "offer" {
		t.Fatalf("deal %v", d)
	}
	for _, tc := range []struct {
		body    map[string]any
		allowed string
	}{
		{map[string]any{"pipeline_id": id(pl), "stage": "proposal"}, "screen, interview, offer"},
		{map[string]any{"stage": "offer"}, "qualification, proposal, negotiation, closed"},
		{map[string]any{"stage": ""}, "qualification, proposal, negotiation, closed"},
	} {
		body := map[string]any{"contact_id": e.contact, "title": "D", "amount": "1"}
		for k, v := range tc.body {
			body[k] = v
		}
		res := e.as(e.team.Owner, "POST", "/api/v1/deals", body)
		if res.Status != http.StatusBadRequest || res.Code() != "unknown_stage" ||
			!strings.Contains(fmt.Sprint(res.JSON()["detail"]), tc.allowed) {
			t.Errorf("%v: %d %s", tc.body, res.Status, res.Body)
		}
	}
	var foreign int64
	if err := e.sql.QueryRow(context.Background(), "SELECT id FROM pipelines WHERE organization_id <> $1 LIMIT 1", e.team.OrgID).Scan(&foreign); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"contact_id": e.contact, "title": "D", "amount": "1", "pipeline_id": foreign}
	if res := e.as(e.team.Owner, "POST", "/api/v1/deals", body); res.Status != http.StatusNotFound || res.Code() != "pipeline_not_found" {
		t.Errorf("foreign pipeline: %d %s", res.Status, res.Body)
	}
	d = e.deal(e.team.Owner, nil)
	if res := e.as(e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"pipeline_id": foreign}); res.Status != http.StatusNotFound {
		t.Errorf("PATCH to a foreign pipeline: %d %s", res.Status, res.Body)
	}
}

// Moving a deal to another pipeline puts it at that pipeline's first stage unless the PATCH
// names one, is never a rollback, and records only pipeline_changed; the rollback rule then
// uses the positions of the deal's pipeline.
func TestMoveToAnotherPipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	def := e.deal(e.team.Member, map[string]any{"stage": "closed"})
	pl := e.pipeline("Hiring", "screen", "interview", "offer")
	moved := e.must(http.StatusOK, e.team.Member, "PATCH", dealPath(id(def)), map[string]any{"pipeline_id": id(pl)})
	if num(moved["pipeline_id"]) != id(pl) || moved["stage"] != "screen" {
		t.Fatalf("moved %v", moved)
	}
	acts := e.activities(id(def))
	if acts[0]["type"] != "pipeline_changed" || len(acts) != 2 {
		t.Fatalf("timeline %v", typesOf(acts))
	}
	p := acts[0]["payload"].(map[string]any)
	from, to := p["from"].(map[string]any), p["to"].(map[string]any)
	if num(from["pipeline_id"]) != num(def["pipeline_id"]) || from["stage"] != "closed" || num(to["pipeline_id"]) != id(pl) || to["stage"] != "screen" {
		t.Fatalf("payload %v", p)
	}
	// Forward in the new pipeline is everyone's; back is the owner's and admin's.
	e.must(http.StatusOK, e.team.Member, "PATCH", dealPath(id(def)), map[string]any{"stage": "offer"})
	if res := e.as(e.team.Member, "PATCH", dealPath(id(def)), map[string]any{"stage": "interview"}); res.Code() != "stage_rollback_forbidden" {
		t.Fatalf("rollback by a member: %d %s", res.Status, res.Body)
	}
	if res := e.as(e.team.Member, "PATCH", dealPath(id(def)), map[string]any{"stage": "proposal"}); res.Code() != "unknown_stage" {
		t.Fatalf("a stage of the old pipeline: %d %s", res.Status, res.Body)
	}
	// Back to the default pipeline at a named stage, by a member: not a rollback.
	back := e.must(http.StatusOK, e.team.Member, "PATCH", dealPath(id(def)), map[string]any{"pipeline_id": num(def["pipeline_id"]), "stage": "qualification"})
	if back["stage"] != "qualification" {
		t.Fatalf("back %v", back)
	}
	got := typesOf(e.activities(id(def)))
	if slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "stage_changed:offer") }) || len(got) != 4 {
		t.Fatalf("timeline %v", got)
	}
}

// The pipelines module asks deals how many deals a pipeline and a stage hold, and has them
// moved off a stage it deletes with move_to, each move on the deal's timeline.
func TestPipelinesCountAndMoveDeals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pl := e.pipeline("Hiring", "screen", "interview", "offer")
	d := e.deal(e.team.Owner, map[string]any{"pipeline_id": id(pl), "stage": "interview"})
	path := fmt.Sprintf("/api/v1/pipelines/%d", id(pl))
	if res := e.as(e.team.Owner, "DELETE", path, nil); res.Code() != "pipeline_has_deals" {
		t.Fatalf("delete pipeline with deals: %d %s", res.Status, res.Body)
	}
	var stageID int64
	for _, s := range pl["stages"].([]any) {
		if st := s.(map[string]any); st["key"] == "interview" {
			stageID = id(st)
		}
	}
	stagePath := fmt.Sprintf("%s/stages/%d", path, stageID)
	if res := e.as(e.team.Owner, "DELETE", stagePath, nil); res.Code() != "stage_has_deals" {
		t.Fatalf("delete stage with deals: %d %s", res.Status, res.Body)
	}
	e.must(http.StatusNoContent, e.team.Owner, "DELETE", stagePath+"?move_to=offer", nil)
	got := e.must(http.StatusOK, e.team.Owner, "GET", dealPath(id(d)), nil)
	if got["stage"] != "offer" {
		t.Fatalf("moved deal %v", got)
	}
	if acts := typesOf(e.activities(id(d))); acts[len(acts)-1] != "stage_changed:interview>offer" {
		t.Fatalf("timeline %v", acts)
	}
	// A deal in the trash still belongs to its pipeline (it comes back there), so the pipeline
	// cannot go while it is there; the purge deletes it for good.
	e.must(http.StatusNoContent, e.team.Owner, "DELETE", dealPath(id(d)), nil)
	if res := e.as(e.team.Owner, "DELETE", path, nil); res.Code() != "pipeline_has_deals" {
		t.Fatalf("delete a pipeline with a deal in the trash: %d %s", res.Status, res.Body)
	}
	if _, err := e.sql.Exec(context.Background(), "DELETE FROM deals WHERE id = $1", id(d)); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusNoContent, e.team.Owner, "DELETE", path, nil)
}
