package deals_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// titles lists the titles of a page of GET /deals with the query.
func (e env) titles(query string) []string {
	e.T.Helper()
	m := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/deals?"+query, nil)
	var out []string
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any)["title"].(string))
	}
	return out
}

// The list narrows by pipeline, by stage key in any pipeline, by expected close dates
// (inclusive), by a substring of the title and to rotten deals, and orders by the expected
// close date with undated deals last.
func TestListByPipelineDatesSearchAndRot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hiring := e.pipeline("Hiring", "screen", "proposal")
	other := e.pipeline("Other", "proposal", "won_over")
	e.deal(e.team.Owner, map[string]any{"title": "Alpha 50%", "expected_close_date": "2026-03-01"})
	e.deal(e.team.Owner, map[string]any{"title": "beta", "stage": "proposal", "expected_close_date": "2026-03-31"})
	e.deal(e.team.Owner, map[string]any{"title": "Gamma", "pipeline_id": id(hiring), "stage": "proposal", "expected_close_date": "2026-04-01"})
	e.deal(e.team.Owner, map[string]any{"title": "Delta alpha", "pipeline_id": id(other)})
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{fmt.Sprintf("pipeline_id=%d", id(hiring)), []string{"Gamma"}},
		{"stage=proposal&order_by=title&order=asc", []string{"Delta alpha", "Gamma", "beta"}},
		{fmt.Sprintf("stage=proposal&pipeline_id=%d", id(other)), []string{"Delta alpha"}},
		{"expected_close_after=2026-03-01&expected_close_before=2026-03-31&order_by=title&order=asc", []string{"Alpha 50%", "beta"}},
		{"expected_close_after=2026-03-02", []string{"Gamma", "beta"}},
		{"search=ALPHA&order_by=title&order=asc", []string{"Alpha 50%", "Delta alpha"}},
		{"search=" + url.QueryEscape("50%"), []string{"Alpha 50%"}},
		{"search=_", nil},
		{"order_by=expected_close_date&order=asc", []string{"Alpha 50%", "beta", "Gamma", "Delta alpha"}},
		{"order_by=expected_close_date&order=asc&page_size=1", []string{"Alpha 50%"}},
		{"rotten=true", nil},
	} {
		if got := e.titles(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	// Pages of the date order follow each other through the cursor.
	m := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/deals?order_by=expected_close_date&order=asc&page_size=3", nil)
	next := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/deals?order_by=expected_close_date&order=asc&page_size=3&cursor="+m["next_cursor"].(string), nil)
	if items := next["items"].([]any); len(items) != 1 || items[0].(map[string]any)["title"] != "Delta alpha" {
		t.Errorf("second page %v", next["items"])
	}

	// A stage of the default pipeline with rotten_days: deals entered before it rot.
	var proposalID int64
	var def int64
	if err := e.sql.QueryRow(context.Background(), `SELECT s.id, s.pipeline_id FROM pipeline_stages s JOIN pipelines p
		ON p.organization_id = s.organization_id AND p.id = s.pipeline_id WHERE p.organization_id = $1 AND p.is_default AND s.key = 'proposal'`,
		e.team.OrgID).Scan(&proposalID, &def); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusOK, e.team.Owner, "PATCH", fmt.Sprintf("/api/v1/pipelines/%d/stages/%d", def, proposalID), map[string]any{"rotten_days": 3})
	if got := e.titles("rotten=true"); got != nil {
		t.Fatalf("fresh deals rotten: %v", got)
	}
	if _, err := e.sql.Exec(context.Background(), "UPDATE deals SET stage_entered_at = now() - interval '4 days' WHERE organization_id = $1", e.team.OrgID); err != nil {
		t.Fatal(err)
	}
	if got := e.titles("rotten=true"); !slices.Equal(got, []string{"beta"}) {
		t.Fatalf("rotten: %v", got)
	}
	beta := dealPath(id(e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/deals?search=beta", nil)["items"].([]any)[0].(map[string]any)))
	e.must(http.StatusOK, e.team.Owner, "PATCH", beta, map[string]any{"status": "won"})
	if got := e.titles("rotten=true"); got != nil {
		t.Fatalf("a won deal rots: %v", got)
	}
	// Reopened, it starts a new visit of its stage: not rotten until that visit is old.
	reopened := e.must(http.StatusOK, e.team.Owner, "PATCH", beta, map[string]any{"status": "in_progress"})
	if got := e.titles("rotten=true"); got != nil {
		t.Fatalf("a reopened deal is rotten at once: %v", got)
	}
	var entered time.Time
	if err := e.sql.QueryRow(context.Background(), `SELECT entered_at FROM deal_stage_history
		WHERE organization_id = $1 AND left_at IS NULL AND deal_id = $2`, e.team.OrgID, int64(reopened["id"].(float64))).Scan(&entered); err != nil {
		t.Fatal(err)
	}
	if got := reopened["stage_entered_at"].(string); got != entered.UTC().Format(time.RFC3339) {
		t.Errorf("stage_entered_at %s, the open visit entered at %s", got, entered.UTC().Format(time.RFC3339))
	}

	for _, q := range []string{"stage=pitch", fmt.Sprintf("stage=screen&pipeline_id=%d", id(other)), "pipeline_id=x",
		"expected_close_after=31.12.2026", "rotten=yes", "order_by=probability"} {
		if res := e.as(e.team.Owner, "GET", "/api/v1/deals?"+q, nil); res.Status != http.StatusBadRequest || res.Code() != "invalid_query" {
			t.Errorf("%s: %d %s", q, res.Status, res.Body)
		}
	}
	if res := e.as(e.team.Owner, "GET", "/api/v1/deals?pipeline_id=999999", nil); res.Status != http.StatusNotFound {
		t.Errorf("unknown pipeline: %d %s", res.Status, res.Body)
	}
}
