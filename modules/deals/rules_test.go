package deals

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/auth/authtest"
	"github.com/mini-crm/crm/platform/money"
	"github.com/mini-crm/crm/platform/patch"
)

func amt(s string) money.Amount { return money.MustParse(s) }

func TestCheckWon(t *testing.T) {
	t.Parallel()
	won := func(a string) state { return state{Status: dealsapi.StatusWon, Stage: "closed", Amount: amt(a)} }
	open := func(status, a string) state { return state{Status: status, Stage: "proposal", Amount: amt(a)} }
	tests := []struct {
		name string
		prev *state
		next state
		ok   bool
	}{
		{"create won with amount", nil, won("0.01"), true},
		{"create won with zero", nil, won("0"), false},
		{"create new with zero", nil, open("new", "0"), true},
		{"create lost with zero", nil, open("lost", "0"), true},
		{"status to won with amount", new(open("in_progress", "10")), won("10"), true},
		{"status to won with zero", new(open("in_progress", "0")), won("0"), false},
		{"status to won while setting zero", new(open("new", "10")), won("0"), false},
		{"status to won while setting an amount", new(open("new", "0")), won("5"), true},
		{"amount of won deal to zero", new(won("10")), won("0"), false},
		{"amount of won deal changed", new(won("10")), won("20"), true},
		{"won deal untouched", new(won("10")), won("10"), true},
		{"amount of open deal to zero", new(open("new", "10")), open("new", "0"), true},
		{"won deal reopened with zero", new(won("10")), open("in_progress", "0"), true},
		{"won deal lost", new(won("10")), open("lost", "10"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkWon(tt.prev, tt.next)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.KindInvalid || ae.Code != "won_requires_positive_amount" ||
				len(ae.Fields) != 1 || ae.Fields[0].Field != "amount" || !strings.Contains(ae.Detail, "amount") {
				t.Fatalf("error = %#v", err)
			}
		})
	}
}

func TestCheckStageMove(t *testing.T) {
	t.Parallel()
	stages := dealsapi.Stages
	for _, role := range auth.Roles {
		for i, from := range stages {
			for j, to := range stages {
				err := checkStageMove(role, i+1, j+1)
				back := j < i
				allowed := !back || role == auth.RoleOwner || role == auth.RoleAdmin
				if allowed && err != nil {
					t.Errorf("%s %s→%s refused: %v", role, from, to, err)
				}
				if !allowed && (!errors.Is(err, ErrStageRollbackForbidden) || apperr.KindOf(err) != apperr.KindForbidden) {
					t.Errorf("%s %s→%s = %v, want 403 stage_rollback_forbidden", role, from, to, err)
				}
			}
		}
	}
}

func TestMaxStage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		prev  int
		stage string
		want  int
	}{
		{0, "qualification", 1},
		{0, "discovery", 1}, // a stage of another pipeline
		{2, "discovery", 2},
		{0, "negotiation", 3},
		{1, "proposal", 2},
		{2, "closed", 4},
		{4, "qualification", 4}, // a rollback keeps the furthest stage
		{3, "proposal", 3},
	} {
		if got := maxStage(tt.prev, tt.stage); got != tt.want {
			t.Errorf("maxStage(%d, %s) = %d, want %d", tt.prev, tt.stage, got, tt.want)
		}
	}
	if dealsapi.StageOrdinal("nope") != 0 || dealsapi.StageOrdinal("closed") != 4 {
		t.Fatal("StageOrdinal")
	}
}

func TestChanges(t *testing.T) {
	t.Parallel()
	base := state{Status: "new", Stage: "qualification", Amount: amt("5")}
	tests := []struct {
		name string
		next state
		want []change
	}{
		{"nothing", base, nil},
		{"amount only", state{Status: "new", Stage: "qualification", Amount: amt("6")}, nil},
		{"status", state{Status: "won", Stage: "qualification", Amount: amt("5")},
			[]change{{"status_changed", "new", "won"}}},
		{"stage", state{Status: "new", Stage: "closed", Amount: amt("5")},
			[]change{{"stage_changed", "qualification", "closed"}}},
		{"both", state{Status: "lost", Stage: "proposal", Amount: amt("5")},
			[]change{{"status_changed", "new", "lost"}, {"stage_changed", "qualification", "proposal"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := changes(base, tt.next)
			if len(got) != len(tt.want) {
				t.Fatalf("changes = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("changes = %v, want %v", got, tt.want)
				}
				if p := got[i].payload(); p["from"] != tt.want[i].From || p["to"] != tt.want[i].To || len(p) != 2 {
					t.Fatalf("payload %v", p)
				}
			}
		})
	}
}

// The module applies the shared ownership policy (tested in platform/auth) with errors that
// name its records; the HTTP tests prove each role against the real routes.
func TestPermissionRules(t *testing.T) {
	t.Parallel()
	authtest.CheckOwnership(t, ownership, "deals")
}

func sampleDeal() Deal {
	return Deal{ID: 1, OrganizationID: 2, ContactID: 3, OwnerID: 4, Title: "T", Amount: amt("10"), Currency: "USD",
		Status: "new", Stage: "qualification", MaxStage: 1, UpdatedAt: time.Date(2026, 11, 27, 10, 0, 0, 123000, time.UTC)}
}

func TestETag(t *testing.T) {
	t.Parallel()
	d := sampleDeal()
	tag := d.ETag()
	if len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		t.Fatalf("etag %s is not a quoted strong tag", tag)
	}
	if d.ETag() != tag {
		t.Fatal("etag is not stable")
	}
	reason := "price"
	for name, change := range map[string]func(*Deal){
		"title":       func(d *Deal) { d.Title = "U" },
		"amount":      func(d *Deal) { d.Amount = amt("10.01") },
		"currency":    func(d *Deal) { d.Currency = "EUR" },
		"status":      func(d *Deal) { d.Status = "won" },
		"stage":       func(d *Deal) { d.Stage = "closed" },
		"contact":     func(d *Deal) { d.ContactID = 9 },
		"owner":       func(d *Deal) { d.OwnerID = 9 },
		"lost_reason": func(d *Deal) { d.LostReason = &reason },
		"updated_at":  func(d *Deal) { d.UpdatedAt = d.UpdatedAt.Add(time.Microsecond) },
	} {
		c := sampleDeal()
		change(&c)
		if c.ETag() == tag {
			t.Errorf("etag unchanged by %s", name)
		}
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	cur := sampleDeal()
	cur.Stage, cur.MaxStage = "negotiation", 3
	reason := "too expensive"
	tests := []struct {
		name  string
		patch Patch
		want  []string
	}{
		{"empty", Patch{}, nil},
		{"same values", Patch{Title: new("T"), Amount: new(amt("10.00")), Currency: new("USD"), Status: new("new"),
			Stage: new("negotiation"), ContactID: new(int64(3)), OwnerID: new(int64(4)), LostReason: patch.Null[string]()}, nil},
		{"every field", Patch{Title: new("U"), Amount: new(amt("11")), Currency: new("EUR"), Status: new("lost"),
			Stage: new("closed"), ContactID: new(int64(5)), OwnerID: new(int64(6)), LostReason: patch.Some(reason)},
			[]string{"title", "amount", "currency", "status", "stage", "contact_id", "owner_id", "lost_reason"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, set := apply(cur, tt.patch)
			if len(set) != len(tt.want) {
				t.Fatalf("set = %v, want %v", set, tt.want)
			}
			for _, k := range tt.want {
				if _, ok := set[k]; !ok {
					t.Fatalf("set = %v, want %v", set, tt.want)
				}
			}
		})
	}
	next, _ := apply(cur, Patch{Stage: new("proposal")})
	if next.Stage != "proposal" || next.MaxStage != 3 {
		t.Fatalf("rollback: %+v", next)
	}
	withReason := cur
	withReason.LostReason = &reason
	next, set := apply(withReason, Patch{LostReason: patch.Null[string]()})
	if next.LostReason != nil || len(set) != 1 {
		t.Fatalf("clear lost_reason: %+v %v", next, set)
	}
	if _, set := apply(withReason, Patch{LostReason: patch.Some(reason)}); len(set) != 0 {
		t.Fatalf("same lost_reason written: %v", set)
	}
}
