package deals_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/money"
)

// recorder keeps the DealWritten events of one organization, checking that each arrives
// inside the write's transaction.
type recorder struct {
	mu     sync.Mutex
	events []dealsapi.DealWritten
	outTx  int
}

func record(e env) *recorder {
	r := &recorder{}
	kernel.Handle(e.App.Kernel, func(ctx context.Context, ev dealsapi.DealWritten) error {
		if ev.OrgID != e.team.OrgID {
			return nil
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if !database.InTx(ctx) {
			r.outTx++
		}
		r.events = append(r.events, ev)
		return nil
	})
	return r
}

func (r *recorder) take() []dealsapi.DealWritten {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func TestDealWrittenReportsEveryChangeOfTheFactsInTheTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := record(e)
	d := e.deal(e.team.Owner, map[string]any{"amount": "100", "currency": "EUR"})
	dealID := id(d)
	created, err := time.Parse(time.RFC3339, d["created_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	facts := func(status, stage, maxStage, amount string) *dealsapi.DealFacts {
		st, _ := dealsapi.StageOf(stage)
		ms, _ := dealsapi.StageOf(maxStage)
		return &dealsapi.DealFacts{PipelineID: num(d["pipeline_id"]), Status: status, Stage: st, MaxStage: ms, Currency: "EUR",
			Amount: money.MustParse(amount)}
	}
	check := func(step string, want ...dealsapi.DealWritten) {
		t.Helper()
		got := rec.take()
		if len(got) != len(want) {
			t.Fatalf("%s: %d events %+v, want %d", step, len(got), got, len(want))
		}
		for i, g := range got {
			w := want[i]
			if g.OrgID != e.team.OrgID || g.DealID != dealID || (g.Before == nil) != (w.Before == nil) || (g.After == nil) != (w.After == nil) {
				t.Fatalf("%s: event %+v, want %+v", step, g, w)
			}
			for _, p := range [][2]*dealsapi.DealFacts{{g.Before, w.Before}, {g.After, w.After}} {
				if p[0] == nil {
					continue
				}
				// created_at is rendered to the second; the event carries the stored instant.
				if !p[0].CreatedAt.Truncate(time.Second).Equal(created) {
					t.Fatalf("%s: created at %v, deal says %v", step, p[0].CreatedAt, created)
				}
				g, w := *p[0], *p[1]
				if g.Amount.String() != w.Amount.String() {
					t.Fatalf("%s: amount %s, want %s", step, g.Amount, w.Amount)
				}
				g.CreatedAt, g.Amount, w.Amount = time.Time{}, money.Amount{}, money.Amount{}
				// The forecast's facts and the stages visited are the analytics read model's
				// (proved against a recount there).
				g.ExpectedCloseDate, g.Probability, g.ClosedAt, g.Visited = nil, nil, nil, nil
				if !reflect.DeepEqual(g, w) {
					t.Fatalf("%s: facts %+v, want %+v", step, g, w)
				}
			}
		}
	}
	check("create", dealsapi.DealWritten{After: facts("new", "qualification", "qualification", "100.00")})

	path := dealPath(dealID)
	e.must(http.StatusOK, e.team.Owner, "PATCH", path, map[string]any{"title": "Renamed", "lost_reason": "none"})
	e.must(http.StatusOK, e.team.Owner, "PATCH", path, map[string]any{"amount": "100.0", "status": "new", "stage": "qualification"})
	check("patches that change no fact")

	e.must(http.StatusOK, e.team.Owner, "PATCH", path, map[string]any{"stage": "negotiation", "status": "in_progress"})
	check("forward, skipping a stage", dealsapi.DealWritten{
		Before: facts("new", "qualification", "qualification", "100.00"),
		After:  facts("in_progress", "negotiation", "negotiation", "100.00")})

	e.must(http.StatusForbidden, e.team.Manager, "PATCH", path, map[string]any{"stage": "proposal"})
	check("forbidden rollback")

	e.must(http.StatusOK, e.team.Admin, "PATCH", path, map[string]any{"stage": "proposal", "amount": 7.5})
	check("rollback by an admin", dealsapi.DealWritten{
		Before: facts("in_progress", "negotiation", "negotiation", "100.00"),
		After:  facts("in_progress", "proposal", "negotiation", "7.50")})

	e.must(http.StatusNoContent, e.team.Owner, "DELETE", path, nil)
	check("delete", dealsapi.DealWritten{Before: facts("in_progress", "proposal", "negotiation", "7.50")})

	if rec.outTx != 0 {
		t.Fatalf("%d events were emitted outside the write's transaction", rec.outTx)
	}
}

func TestAFailingDealWrittenHandlerFailsTheWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := id(e.deal(e.team.Owner, map[string]any{"amount": "100"}))
	// Registered after the deal was created: from now on, every write of the organization
	// has a handler that fails, after the analytics read model's has run.
	kernel.Handle(e.App.Kernel, func(_ context.Context, ev dealsapi.DealWritten) error {
		if ev.OrgID == e.team.OrgID {
			return errors.New("read model unavailable")
		}
		return nil
	})
	if res := e.as(e.team.Owner, "POST", "/api/v1/deals", map[string]any{"contact_id": e.contact, "title": "x", "amount": 1}); res.Status != http.StatusInternalServerError {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	if res := e.as(e.team.Owner, "PATCH", dealPath(d), map[string]any{"status": "lost"}); res.Status != http.StatusInternalServerError {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	if res := e.as(e.team.Owner, "DELETE", dealPath(d), nil); res.Status != http.StatusInternalServerError {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	list := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/deals", nil)
	if list["total"] != float64(1) {
		t.Fatalf("deals after failed writes: %v", list)
	}
	if got := e.must(http.StatusOK, e.team.Owner, "GET", dealPath(d), nil); got["status"] != "new" {
		t.Fatalf("deal after a failed update: %v", got)
	}
	if acts := e.activities(d); len(acts) != 1 {
		t.Fatalf("timeline after failed writes: %v", typesOf(acts))
	}
}

func TestCountCreatedBetween(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := service(t, e)
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var ids []int64
	for range 4 {
		ids = append(ids, id(e.deal(e.team.Owner, nil)))
	}
	// Another organization's deal at the same instant is never counted.
	other := e.team.Outsider
	in := func(path string, body any) int64 {
		res := e.Do(apptest.Req{Method: "POST", Path: path, Body: body, Token: other.Token, Org: other.OrgID})
		if res.Status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, res.Status, res.Body)
		}
		return id(res.JSON())
	}
	oc := in("/api/v1/contacts", map[string]any{"name": "C"})
	ids = append(ids, in("/api/v1/deals", map[string]any{"contact_id": oc, "title": "x", "amount": 1}))
	for i, at := range []time.Time{base.Add(-time.Microsecond), base, base.Add(time.Hour), base.Add(24 * time.Hour), base} {
		if _, err := e.sql.Exec(context.Background(), "UPDATE deals SET created_at = $1 WHERE id = $2", at, ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	ctx := ctxAs(e.team.Owner, e.team.OrgID, auth.RoleMember)
	tests := []struct {
		from, to time.Time
		want     int64
	}{
		{base, base.Add(24 * time.Hour), 2},                        // from inclusive, to exclusive
		{base.Add(-time.Microsecond), base.Add(24 * time.Hour), 3}, // one microsecond earlier
		{base, base.Add(24*time.Hour + time.Microsecond), 3},       // one microsecond later
		{base.Add(time.Hour), base.Add(time.Hour), 0},              // empty interval
		{base.Add(-48 * time.Hour), base.Add(48 * time.Hour), 4},   // all
		{base.Add(48 * time.Hour), base.Add(72 * time.Hour), 0},    // none
	}
	for _, tt := range tests {
		n, err := svc.CountCreatedBetween(ctx, e.team.OrgID, tt.from, tt.to)
		if err != nil || n != tt.want {
			t.Errorf("[%s, %s): %d (%v), want %d", tt.from, tt.to, n, err, tt.want)
		}
	}
	// Asked for another organization, even with its id, the caller's scope sees nothing.
	if n, err := svc.CountCreatedBetween(ctx, other.OrgID, base.Add(-48*time.Hour), base.Add(48*time.Hour)); err != nil || n != 0 {
		t.Errorf("another organization: %d (%v)", n, err)
	}
}
