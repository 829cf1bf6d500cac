package app_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// A database as the release before pipelines left it (deals on the four fixed stages, their
// timeline written by that release: a stage_changed for every move, a status_changed for
// every status change) gives, after the upgrade, exactly the part-1 summary and funnel: the
// values below follow from the part-1 definitions (reached = the furthest stage ever
// reached or later, win rate over won and lost, sums per currency).
func TestAnUpgradeKeepsEveryPartOneSummaryAndFunnel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Empty(t)
	if err := migrate.Up(url, testdb.Before(t, app.Sources(), "20261201400100"), nil); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	now := time.Now().UTC()
	at := func(days int) string { return now.AddDate(0, 0, -days).Format(time.RFC3339) }
	for _, stmt := range []string{
		`INSERT INTO users (email, password_hash, name) VALUES ('old.owner@example.com', 'x', 'Owner')`,
		`INSERT INTO organizations (name) VALUES ('Before pipelines')`,
		`INSERT INTO organization_members (organization_id, user_id, role) VALUES (1, 1, 'owner')`,
		`INSERT INTO contacts (organization_id, owner_id, name) VALUES (1, 1, 'C')`,
		// 1 new at qualification; 2 in progress at proposal; 3 won at closed; 4 lost after a
		// rollback from negotiation to qualification; 5 won at negotiation; 6 new at proposal,
		// created 60 days ago (outside new_deals).
		`INSERT INTO deals (organization_id, contact_id, owner_id, title, amount, currency, status, stage, max_stage, created_at, updated_at) VALUES
		 (1, 1, 1, 'One',   100, 'USD', 'new',         'qualification', 1, '` + at(10) + `', '` + at(10) + `'),
		 (1, 1, 1, 'Two',   200, 'USD', 'in_progress', 'proposal',      2, '` + at(10) + `', '` + at(9) + `'),
		 (1, 1, 1, 'Three', 1000, 'USD', 'won',        'closed',        4, '` + at(10) + `', '` + at(5) + `'),
		 (1, 1, 1, 'Four',  300, 'EUR', 'lost',        'qualification', 3, '` + at(10) + `', '` + at(4) + `'),
		 (1, 1, 1, 'Five',  500, 'EUR', 'won',         'negotiation',   3, '` + at(10) + `', '` + at(3) + `'),
		 (1, 1, 1, 'Six',    50, 'USD', 'new',         'proposal',      2, '` + at(60) + `', '` + at(59) + `')`,
		`INSERT INTO activities (organization_id, deal_id, type, payload, created_at) VALUES
		 (1, 2, 'status_changed', '{"from": "new", "to": "in_progress"}', '` + at(9) + `'),
		 (1, 2, 'stage_changed', '{"from": "qualification", "to": "proposal"}', '` + at(9) + `'),
		 (1, 3, 'stage_changed', '{"from": "qualification", "to": "proposal"}', '` + at(8) + `'),
		 (1, 3, 'stage_changed', '{"from": "proposal", "to": "negotiation"}', '` + at(7) + `'),
		 (1, 3, 'stage_changed', '{"from": "negotiation", "to": "closed"}', '` + at(6) + `'),
		 (1, 3, 'status_changed', '{"from": "new", "to": "won"}', '` + at(5) + `'),
		 (1, 4, 'stage_changed', '{"from": "qualification", "to": "negotiation"}', '` + at(8) + `'),
		 (1, 4, 'stage_changed', '{"from": "negotiation", "to": "qualification"}', '` + at(6) + `'),
		 (1, 4, 'status_changed', '{"from": "new", "to": "lost"}', '` + at(4) + `'),
		 (1, 5, 'stage_changed', '{"from": "qualification", "to": "negotiation"}', '` + at(5) + `'),
		 (1, 5, 'status_changed', '{"from": "new", "to": "won"}', '` + at(3) + `'),
		 (1, 6, 'stage_changed', '{"from": "qualification", "to": "proposal"}', '` + at(59) + `')`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%.80s: %v", stmt, err)
		}
	}
	if err := migrate.Up(url, app.Sources(), nil); err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(ctx, url, database.Options{MaxConns: 4, Role: database.AppRole, StatementTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	s := apptest.OnDatabase(t, db)
	auditor := s.Register("auditor")
	if _, err := conn.Exec(ctx, `INSERT INTO organization_members (organization_id, user_id, role) VALUES (1, $1, 'admin')`, auditor.ID); err != nil {
		t.Fatal(err)
	}

	summary := s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/analytics/deals/summary?days=30", Token: auditor.Token, Org: 1})
	wantJSON(t, "summary", summary.Body, `{
		"by_status": {
			"new": {"count": 2, "amount": {"USD": "150.00"}},
			"in_progress": {"count": 1, "amount": {"USD": "200.00"}},
			"won": {"count": 2, "amount": {"EUR": "500.00", "USD": "1000.00"}},
			"lost": {"count": 1, "amount": {"EUR": "300.00"}}
		},
		"won_average_amount": {"EUR": "500.00", "USD": "1000.00"},
		"win_rate": 66.7,
		"new_deals": {"days": 30, "count": 5}
	}`)
	funnel := s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/analytics/deals/funnel", Token: auditor.Token, Org: 1})
	wantJSON(t, "funnel", funnel.Body, `{"stages": [
		{"stage": "qualification", "count": 2, "by_status": {"new": 1, "in_progress": 0, "won": 0, "lost": 1}, "reached": 6, "conversion_from_previous": null},
		{"stage": "proposal", "count": 2, "by_status": {"new": 1, "in_progress": 1, "won": 0, "lost": 0}, "reached": 5, "conversion_from_previous": 83.3},
		{"stage": "negotiation", "count": 1, "by_status": {"new": 0, "in_progress": 0, "won": 1, "lost": 0}, "reached": 3, "conversion_from_previous": 60.0},
		{"stage": "closed", "count": 1, "by_status": {"new": 0, "in_progress": 0, "won": 1, "lost": 0}, "reached": 1, "conversion_from_previous": 33.3}
	]}`)
}

// wantJSON fails unless got holds every field of want with want's value; fields want leaves
// out (added by later releases, such as a report's pipeline) are not compared.
func wantJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v: %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: the expectation is no JSON: %v", what, err)
	}
	if !subsetOf(w, g) {
		t.Errorf("%s after the upgrade:\n%s\nwant (at least):\n%s", what, got, want)
	}
}

func subsetOf(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok || !subsetOf(v, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !subsetOf(w[i], g[i]) {
				return false
			}
		}
		return true
	default:
		return want == got
	}
}
