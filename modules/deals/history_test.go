package deals_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// visits lists the deal's stage history, oldest first: "pipeline:stage" with "+" when the
// visit is still open.
func (e env) visits(dealID int64) string {
	e.T.Helper()
	rows, err := e.sql.Query(context.Background(), `SELECT pipeline_id, stage, left_at IS NULL, left_at >= entered_at OR left_at IS NULL
		FROM deal_stage_history WHERE organization_id = $1 AND deal_id = $2 ORDER BY entered_at, id`, e.team.OrgID, dealID)
	if err != nil {
		e.T.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var pl int64
		var stage string
		var open, ordered bool
		if err := rows.Scan(&pl, &stage, &open, &ordered); err != nil {
			e.T.Fatal(err)
		}
		v := fmt.Sprintf("%d:%s", pl, stage)
		if open {
			v += "+"
		}
		if !ordered {
			v += "!"
		}
		out = append(out, v)
	}
	return strings.Join(out, " ")
}

// Every stage a deal enters is a visit: created, moved, moved to another pipeline, won
// (which ends the visit), reopened (which starts one), moved off a deleted stage.
func TestStageHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, nil)
	def := num(d["pipeline_id"])
	want := func(w string) {
		t.Helper()
		if got := e.visits(id(d)); got != w {
			t.Fatalf("history %q, want %q", got, w)
		}
	}
	want(fmt.Sprintf("%d:qualification+", def))
	e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"stage": "proposal"})
	e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"title": "Renamed", "status": "in_progress"})
	want(fmt.Sprintf("%d:qualification %d:proposal+", def, def))
	pl := e.pipeline("Hiring", "screen", "offer")
	e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"pipeline_id": id(pl)})
	p := id(pl)
	want(fmt.Sprintf("%d:qualification %d:proposal %d:screen+", def, def, p))
	e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"status": "won"})
	want(fmt.Sprintf("%d:qualification %d:proposal %d:screen", def, def, p))
	e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"status": "lost"})
	want(fmt.Sprintf("%d:qualification %d:proposal %d:screen", def, def, p))
	e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(id(d)), map[string]any{"status": "new"})
	want(fmt.Sprintf("%d:qualification %d:proposal %d:screen %d:screen+", def, def, p, p))
	var screen int64
	for _, s := range pl["stages"].([]any) {
		if st := s.(map[string]any); st["key"] == "screen" {
			screen = id(st)
		}
	}
	e.must(http.StatusNoContent, e.team.Owner, "DELETE", fmt.Sprintf("/api/v1/pipelines/%d/stages/%d?move_to=offer", p, screen), nil)
	want(fmt.Sprintf("%d:qualification %d:proposal %d:screen %d:screen %d:offer+", def, def, p, p, p))

	won := e.deal(e.team.Owner, map[string]any{"status": "won", "stage": "closed"})
	if got := e.visits(id(won)); got != fmt.Sprintf("%d:closed", def) {
		t.Fatalf("created won: %q", got)
	}
	// The visits stay with the deal in the trash, for its restore (its purge takes them).
	e.must(http.StatusNoContent, e.team.Owner, "DELETE", dealPath(id(d)), nil)
	if got := e.visits(id(d)); got != fmt.Sprintf("%d:qualification %d:proposal %d:screen %d:screen %d:offer+", def, def, p, p, p) {
		t.Fatalf("after delete: %q", got)
	}
}
