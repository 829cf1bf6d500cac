package deals_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func TestCreateEveryRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range roles {
		u := e.team.As(role)
		res := e.as(u, "POST", "/api/v1/deals", map[string]any{"contact_id": e.contact, "title": " Deal of " + role + " ", "amount": 15000})
		if res.Status != http.StatusCreated {
			t.Fatalf("%s: %d %s", role, res.Status, res.Body)
		}
		d := res.JSON()
		want := map[string]any{"contact_id": float64(e.contact), "owner_id": float64(u.ID), "title": "Deal of " + role,
			"amount": "15000.00", "currency": "USD", "status": "new", "stage": "qualification", "lost_reason": nil}
		for k, v := range want {
			if d[k] != v {
				t.Fatalf("%s: %s = %v, want %v (%v)", role, k, d[k], v, d)
			}
		}
		if len(d) != 17 || !strings.HasSuffix(d["created_at"].(string), "Z") || d["updated_at"] != d["created_at"] {
			t.Fatalf("%s: representation %v", role, d)
		}
		if etag := res.Header.Get("ETag"); !strings.HasPrefix(etag, `"`) || res.Header.Get("Location") != dealPath(id(d)) {
			t.Fatalf("%s: headers %v", role, res.Header)
		}
		// Creation is on the timeline as a system event of nobody.
		acts := e.activities(id(d))
		if len(acts) != 1 || acts[0]["type"] != "system" || acts[0]["author_id"] != nil ||
			!reflect.DeepEqual(acts[0]["payload"], map[string]any{"event": "deal_created"}) || num(acts[0]["deal_id"]) != id(d) {
			t.Fatalf("%s: timeline %v", role, acts)
		}
		res = e.as(u, "POST", "/api/v1/deals", map[string]any{"contact_id": e.contact, "title": "x", "amount": 1, "owner_id": e.team.Member.ID})
		if role == "member" {
			e.deal(u, map[string]any{"owner_id": u.ID})
			res = e.as(u, "POST", "/api/v1/deals", map[string]any{"contact_id": e.contact, "title": "x", "amount": 1, "owner_id": e.team.Manager.ID})
			apptest.WantProblem(t, res, http.StatusForbidden, "create_for_other_forbidden")
			continue
		}
		if res.Status != http.StatusCreated || num(res.JSON()["owner_id"]) != e.team.Member.ID {
			t.Fatalf("%s creating for the member: %d %s", role, res.Status, res.Body)
		}
	}
	res := e.Do(apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: e.team.Outsider.Token, Org: e.team.OrgID,
		Body: map[string]any{"contact_id": e.contact, "title": "x", "amount": 1}})
	apptest.WantProblem(t, res, http.StatusForbidden, "not_a_member")
}

func TestCreateDefaultsAndMoney(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, map[string]any{"amount": "0.5", "status": "lost", "stage": "negotiation", "lost_reason": " price ", "currency": "JPY"})
	if d["amount"] != "0.50" || d["status"] != "lost" || d["stage"] != "negotiation" || d["lost_reason"] != "price" || d["currency"] != "JPY" {
		t.Fatalf("explicit fields: %v", d)
	}
	var maxStage int
	if err := e.sql.QueryRow(context.Background(), "SELECT max_stage FROM deals WHERE id = $1", id(d)).Scan(&maxStage); err != nil || maxStage != 3 {
		t.Fatalf("max_stage on create = %d, %v", maxStage, err)
	}
	d = e.deal(e.team.Owner, map[string]any{"amount": 999999999999.99, "status": "won"})
	if d["amount"] != "999999999999.99" || d["status"] != "won" {
		t.Fatalf("largest amount: %v", d)
	}
	// A large amount with cents survives exactly, which no float64 round trip guarantees.
	d = e.deal(e.team.Owner, map[string]any{"amount": "123456789012.34"})
	if got := e.must(http.StatusOK, e.team.Owner, "GET", dealPath(id(d)), nil)["amount"]; got != "123456789012.34" {
		t.Fatalf("amount read back as %v", got)
	}
	// The currency defaults to the organization's default currency at the time of creation.
	e.Must(http.StatusOK, apptest.Req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/organizations/%d", e.team.OrgID),
		Token: e.team.Owner.Token, Body: map[string]any{"default_currency": "EUR"}})
	if d := e.deal(e.team.Member, nil); d["currency"] != "EUR" {
		t.Fatalf("default currency: %v", d)
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := func(kv ...any) map[string]any {
		m := map[string]any{"contact_id": e.contact, "title": "Deal", "amount": "10"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<absent>" {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		fields []string
	}{
		{"contact missing", base("contact_id", "<absent>"), 400, "validation_failed", []string{"contact_id"}},
		{"title missing", base("title", "<absent>"), 400, "validation_failed", []string{"title"}},
		{"title blank", base("title", "  "), 400, "validation_failed", []string{"title"}},
		{"title too long", base("title", strings.Repeat("t", 201)), 400, "validation_failed", []string{"title"}},
		{"amount missing", base("amount", "<absent>"), 400, "validation_failed", []string{"amount"}},
		{"amount null", base("amount", nil), 400, "validation_failed", []string{"amount"}},
		{"amount three places", base("amount", "12.345"), 400, "validation_failed", []string{"amount"}},
		{"amount three places as number", base("amount", 12.345), 400, "validation_failed", []string{"amount"}},
		{"amount negative", base("amount", -1), 400, "validation_failed", []string{"amount"}},
		{"amount too large", base("amount", "1000000000000"), 400, "validation_failed", []string{"amount"}},
		{"amount not a number", base("amount", "ten"), 400, "validation_failed", []string{"amount"}},
		{"amount a boolean", base("amount", true), 400, "validation_failed", []string{"amount"}},
		{"currency lower case", base("currency", "eur"), 400, "validation_failed", []string{"currency"}},
		{"currency unknown", base("currency", "ABC"), 400, "validation_failed", []string{"currency"}},
		{"status unknown", base("status", "open"), 400, "validation_failed", []string{"status"}},
		{"stage unknown", base("stage", "done"), 400, "unknown_stage", []string{"stage"}},
		{"lost_reason too long", base("lost_reason", strings.Repeat("r", 1001)), 400, "validation_failed", []string{"lost_reason"}},
		{"owner zero", base("owner_id", 0), 400, "validation_failed", []string{"owner_id"}},
		// A stage is checked against the deal's pipeline once the body is valid.
		{"several fields", base("title", "", "status", "x", "stage", "y"), 400, "validation_failed", []string{"title", "status"}},
		{"unknown field", base("organization_id", 1), 400, "unknown_field", []string{"organization_id"}},
		{"max_stage is internal", base("max_stage", 4), 400, "unknown_field", []string{"max_stage"}},
		{"won with zero", base("status", "won", "amount", 0), 400, "won_requires_positive_amount", []string{"amount"}},
		{"won with zero as string", base("status", "won", "amount", "0.00"), 400, "won_requires_positive_amount", []string{"amount"}},
		{"unknown contact", base("contact_id", 987654), 404, "contact_not_found", nil},
		{"owner outside", base("owner_id", e.team.Outsider.ID), 400, "owner_not_member", []string{"owner_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := apptest.WantProblem(t, e.as(e.team.Owner, "POST", "/api/v1/deals", tt.body), tt.status, tt.code)
			if got := apptest.ProblemFields(m); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %v, want %v (%v)", got, tt.fields, m)
			}
			if tt.code == "won_requires_positive_amount" && !strings.Contains(m["detail"].(string), "amount") {
				t.Fatalf("detail %q does not mention amount", m["detail"])
			}
		})
	}
	// Another organization's contact is indistinguishable from a contact that never existed.
	out := e.team.Outsider
	foreign := e.Do(apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"contact_id": e.contact, "title": "x", "amount": 1}})
	never := e.Do(apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"contact_id": 987654, "title": "x", "amount": 1}})
	apptest.WantProblem(t, foreign, http.StatusNotFound, "contact_not_found")
	apptest.SameProblem(t, foreign, never)
	if m := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/deals", nil); m["total"] != float64(0) {
		t.Fatalf("a rejected create stored a deal: %v", m)
	}
}

func TestGetEveryRoleAndIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Member, map[string]any{"title": "Visible"})
	var etag string
	for _, role := range roles {
		res := e.as(e.team.As(role), "GET", dealPath(id(d)), nil)
		if res.Status != http.StatusOK || res.JSON()["title"] != "Visible" {
			t.Fatalf("%s: %d %s", role, res.Status, res.Body)
		}
		if etag == "" {
			etag = res.Header.Get("ETag")
		}
		if res.Header.Get("ETag") != etag || etag == "" || strings.HasPrefix(etag, "W/") {
			t.Fatalf("%s: ETag %q, want the same strong tag %q", role, res.Header.Get("ETag"), etag)
		}
	}
	out := e.team.Outsider
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: dealPath(id(d)), Token: out.Token, Org: e.team.OrgID}),
		http.StatusForbidden, "not_a_member")
	for _, tt := range []struct {
		method, suffix string
		body           any
	}{
		{"GET", "", nil},
		{"PATCH", "", map[string]any{"title": "stolen"}},
		{"DELETE", "", nil},
		{"GET", "/activities", nil},
		{"POST", "/activities", map[string]any{"type": "comment", "payload": map[string]any{"text": "hi"}}},
	} {
		foreign := e.Do(apptest.Req{Method: tt.method, Path: dealPath(id(d)) + tt.suffix, Token: out.Token, Org: out.OrgID, Body: tt.body})
		never := e.Do(apptest.Req{Method: tt.method, Path: dealPath(987654) + tt.suffix, Token: out.Token, Org: out.OrgID, Body: tt.body})
		apptest.WantProblem(t, foreign, http.StatusNotFound, "deal_not_found")
		apptest.SameProblem(t, foreign, never)
	}
	got := e.must(http.StatusOK, e.team.Owner, "GET", dealPath(id(d)), nil)
	if got["title"] != "Visible" || len(e.activities(id(d))) != 1 {
		t.Fatalf("touched from another organization: %v", got)
	}
	apptest.WantProblem(t, e.as(e.team.Owner, "GET", "/api/v1/deals/abc", nil), http.StatusNotFound, "not_found")
	apptest.WantProblem(t, e.as(e.team.Owner, "GET", "/api/v1/deals/0", nil), http.StatusNotFound, "not_found")
	apptest.WantProblem(t, e.as(e.team.Owner, "PUT", dealPath(id(d)), map[string]any{}), http.StatusMethodNotAllowed, "method_not_allowed")
}

func TestUpdateEveryRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range roles {
		u := e.team.As(role)
		own := e.deal(u, nil)
		others := e.deal(e.team.Owner, nil)
		got := e.must(http.StatusOK, u, "PATCH", dealPath(id(own)), map[string]any{"title": "Renamed", "status": "in_progress", "stage": "proposal"})
		if got["title"] != "Renamed" || got["status"] != "in_progress" || got["stage"] != "proposal" {
			t.Fatalf("%s own: %v", role, got)
		}
		res := e.as(u, "PATCH", dealPath(id(others)), map[string]any{"title": "Taken"})
		if role == "member" {
			apptest.WantProblem(t, res, http.StatusForbidden, "not_owner")
			apptest.WantProblem(t, e.as(u, "PATCH", dealPath(id(own)), map[string]any{"owner_id": e.team.Owner.ID}), http.StatusForbidden, "reassign_forbidden")
			e.must(http.StatusOK, u, "PATCH", dealPath(id(own)), map[string]any{"owner_id": u.ID})
			if got := e.must(http.StatusOK, u, "GET", dealPath(id(others)), nil); got["title"] != "Deal" {
				t.Fatalf("refused patch changed the deal: %v", got)
			}
			continue
		}
		if res.Status != http.StatusOK || res.JSON()["title"] != "Taken" {
			t.Fatalf("%s others: %d %s", role, res.Status, res.Body)
		}
		got = e.must(http.StatusOK, u, "PATCH", dealPath(id(others)), map[string]any{"owner_id": e.team.Member.ID})
		if num(got["owner_id"]) != e.team.Member.ID {
			t.Fatalf("%s reassign: %v", role, got)
		}
		m := apptest.WantProblem(t, e.as(u, "PATCH", dealPath(id(others)), map[string]any{"owner_id": e.team.Outsider.ID}), http.StatusBadRequest, "owner_not_member")
		if !slices.Equal(apptest.ProblemFields(m), []string{"owner_id"}) {
			t.Fatalf("fields %v", m)
		}
	}
}

func TestUpdateRulesAndTimeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Member, map[string]any{"amount": 0})
	p := dealPath(id(d))
	member, manager, admin, owner := e.team.Member, e.team.Manager, e.team.Admin, e.team.Owner

	// Won needs a positive amount: on a status change...
	m := apptest.WantProblem(t, e.as(member, "PATCH", p, map[string]any{"status": "won"}), http.StatusBadRequest, "won_requires_positive_amount")
	if !strings.Contains(m["detail"].(string), "amount") || !slices.Equal(apptest.ProblemFields(m), []string{"amount"}) {
		t.Fatalf("won rule: %v", m)
	}
	e.must(http.StatusOK, member, "PATCH", p, map[string]any{"status": "won", "amount": "250"})
	// ...and on an amount change of a won deal.
	apptest.WantProblem(t, e.as(member, "PATCH", p, map[string]any{"amount": 0}), http.StatusBadRequest, "won_requires_positive_amount")
	e.must(http.StatusOK, member, "PATCH", p, map[string]any{"amount": "0.01"})
	e.must(http.StatusOK, member, "PATCH", p, map[string]any{"title": "Still won"})
	e.must(http.StatusOK, member, "PATCH", p, map[string]any{"status": "in_progress", "amount": 0})

	// A PATCH repeating current values records nothing and changes nothing.
	before := e.must(http.StatusOK, member, "GET", p, nil)
	after := e.must(http.StatusOK, member, "PATCH", p, map[string]any{"status": "in_progress", "stage": "qualification", "amount": "0.00", "title": "Still won"})
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("no-op patch changed the deal:\n%v\n%v", before, after)
	}

	// Forward moves, skips included, are for everyone who may change the deal.
	e.must(http.StatusOK, member, "PATCH", p, map[string]any{"stage": "negotiation"})
	e.must(http.StatusOK, manager, "PATCH", p, map[string]any{"stage": "closed"})
	// Back moves only for owner and admin.
	apptest.WantProblem(t, e.as(member, "PATCH", p, map[string]any{"stage": "proposal"}), http.StatusForbidden, "stage_rollback_forbidden")
	apptest.WantProblem(t, e.as(manager, "PATCH", p, map[string]any{"stage": "qualification"}), http.StatusForbidden, "stage_rollback_forbidden")
	// A refused patch changes nothing else either.
	apptest.WantProblem(t, e.as(manager, "PATCH", p, map[string]any{"stage": "proposal", "title": "changed"}), http.StatusForbidden, "stage_rollback_forbidden")
	e.must(http.StatusOK, admin, "PATCH", p, map[string]any{"stage": "negotiation"})
	e.must(http.StatusOK, owner, "PATCH", p, map[string]any{"stage": "qualification", "status": "lost", "lost_reason": "budget"})

	got := e.must(http.StatusOK, owner, "GET", p, nil)
	if got["title"] != "Still won" || got["stage"] != "qualification" || got["status"] != "lost" || got["lost_reason"] != "budget" || got["amount"] != "0.00" {
		t.Fatalf("deal: %v", got)
	}
	var maxStage int
	if err := e.sql.QueryRow(context.Background(), "SELECT max_stage FROM deals WHERE id = $1", id(d)).Scan(&maxStage); err != nil || maxStage != 4 {
		t.Fatalf("max_stage after a rollback = %d, %v; want 4 (closed was reached)", maxStage, err)
	}
	want := []string{
		"system:deal_created",
		"status_changed:new>won",
		"deal_updated:amount",
		"deal_updated:amount",
		"deal_updated:title",
		"status_changed:won>in_progress",
		"deal_updated:amount",
		"stage_changed:qualification>negotiation",
		"stage_changed:negotiation>closed",
		"stage_changed:closed>negotiation",
		"status_changed:in_progress>lost",
		"stage_changed:negotiation>qualification",
		"deal_updated:lost_reason",
	}
	acts := e.activities(id(d))
	if got := typesOf(acts); !slices.Equal(got, want) {
		t.Fatalf("timeline:\n%v\nwant\n%v", got, want)
	}
	for _, a := range acts[:len(acts)-1] {
		if a["author_id"] == nil {
			t.Fatalf("change without author: %v", a)
		}
	}

	// lost_reason: absent keeps it, null clears it.
	if got := e.must(http.StatusOK, owner, "PATCH", p, map[string]any{"title": "T"}); got["lost_reason"] != "budget" {
		t.Fatalf("absent lost_reason: %v", got)
	}
	if got := e.must(http.StatusOK, owner, "PATCH", p, map[string]any{"lost_reason": nil}); got["lost_reason"] != nil {
		t.Fatalf("null lost_reason: %v", got)
	}

	// contact_id must be a contact of this organization.
	other := e.Do(apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: e.team.Outsider.Token, Org: e.team.Outsider.OrgID,
		Body: map[string]any{"name": "Elsewhere"}}).JSON()
	apptest.WantProblem(t, e.as(owner, "PATCH", p, map[string]any{"contact_id": id(other)}), http.StatusNotFound, "contact_not_found")
	apptest.WantProblem(t, e.as(owner, "PATCH", p, map[string]any{"contact_id": 987654}), http.StatusNotFound, "contact_not_found")
	c2 := e.must(http.StatusCreated, owner, "POST", "/api/v1/contacts", map[string]any{"name": "Second"})
	if got := e.must(http.StatusOK, owner, "PATCH", p, map[string]any{"contact_id": id(c2), "currency": "GBP"}); num(got["contact_id"]) != id(c2) || got["currency"] != "GBP" {
		t.Fatalf("new contact: %v", got)
	}
}

func TestUpdateValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := dealPath(id(e.deal(e.team.Owner, nil)))
	for _, tt := range []struct {
		body   any
		code   string
		fields []string
	}{
		{map[string]any{"title": nil}, "validation_failed", []string{"title"}},
		{map[string]any{"title": " "}, "validation_failed", []string{"title"}},
		{map[string]any{"amount": nil}, "validation_failed", []string{"amount"}},
		{map[string]any{"amount": "1.001"}, "validation_failed", []string{"amount"}},
		{map[string]any{"currency": "usd"}, "validation_failed", []string{"currency"}},
		{map[string]any{"currency": nil}, "validation_failed", []string{"currency"}},
		{map[string]any{"status": "closed"}, "validation_failed", []string{"status"}},
		{map[string]any{"status": nil}, "validation_failed", []string{"status"}},
		{map[string]any{"stage": "won"}, "unknown_stage", []string{"stage"}},
		{map[string]any{"stage": nil}, "validation_failed", []string{"stage"}},
		{map[string]any{"pipeline_id": nil}, "validation_failed", []string{"pipeline_id"}},
		{map[string]any{"probability": 101}, "validation_failed", []string{"probability"}},
		{map[string]any{"contact_id": nil}, "validation_failed", []string{"contact_id"}},
		{map[string]any{"owner_id": "me"}, "validation_failed", []string{"owner_id"}},
		{map[string]any{"lost_reason": ""}, "validation_failed", []string{"lost_reason"}},
		{map[string]any{"title": "", "status": "x", "owner_id": nil}, "validation_failed", []string{"title", "status", "owner_id"}},
		{map[string]any{"id": 5}, "unknown_field", []string{"id"}},
		{map[string]any{"updated_at": "2020-01-01T00:00:00Z"}, "unknown_field", []string{"updated_at"}},
		{"[]", "malformed_json", nil},
	} {
		m := apptest.WantProblem(t, e.as(e.team.Owner, "PATCH", p, tt.body), http.StatusBadRequest, tt.code)
		if got := apptest.ProblemFields(m); !slices.Equal(got, tt.fields) {
			t.Fatalf("%v: fields %v, want %v", tt.body, got, tt.fields)
		}
	}
}

func TestIfMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, nil)
	p := dealPath(id(d))
	patch := func(ifMatch string, body map[string]any) apptest.Response {
		return e.Do(apptest.Req{Method: "PATCH", Path: p, Token: e.team.Owner.Token, Org: e.team.OrgID, Body: body,
			Headers: map[string]string{"If-Match": ifMatch}})
	}
	first := e.as(e.team.Owner, "GET", p, nil).Header.Get("ETag")

	apptest.WantProblem(t, patch(`"not-the-tag"`, map[string]any{"title": "A"}), http.StatusPreconditionFailed, "precondition_failed")
	apptest.WantProblem(t, patch("W/"+first, map[string]any{"title": "A"}), http.StatusPreconditionFailed, "precondition_failed")
	if got := e.must(http.StatusOK, e.team.Owner, "GET", p, nil); got["title"] != "Deal" {
		t.Fatalf("412 changed the deal: %v", got)
	}
	res := patch(first, map[string]any{"title": "A", "status": "in_progress"})
	second := res.Header.Get("ETag")
	if res.Status != http.StatusOK || second == "" || second == first {
		t.Fatalf("matching If-Match: %d %s, ETag %q", res.Status, res.Body, second)
	}
	if got := e.as(e.team.Owner, "GET", p, nil).Header.Get("ETag"); got != second {
		t.Fatalf("GET ETag %q, PATCH ETag %q", got, second)
	}
	// The old tag no longer matches: the update it was read for is already applied.
	apptest.WantProblem(t, patch(first, map[string]any{"title": "B"}), http.StatusPreconditionFailed, "precondition_failed")
	if res := patch(`"x", `+second, map[string]any{"title": "B"}); res.Status != http.StatusOK {
		t.Fatalf("list If-Match: %d %s", res.Status, res.Body)
	}
	if res := patch("*", map[string]any{"title": "C"}); res.Status != http.StatusOK {
		t.Fatalf("If-Match *: %d %s", res.Status, res.Body)
	}
	// A no-op patch keeps the tag.
	third := e.as(e.team.Owner, "GET", p, nil).Header.Get("ETag")
	if res := patch(third, map[string]any{"title": "C"}); res.Status != http.StatusOK || res.Header.Get("ETag") != third {
		t.Fatalf("no-op with If-Match: %d %s %q", res.Status, res.Body, res.Header.Get("ETag"))
	}
	want := []string{"system:deal_created", "status_changed:new>in_progress", "deal_updated:title", "deal_updated:title", "deal_updated:title"}
	if got := typesOf(e.activities(id(d))); !slices.Equal(got, want) {
		t.Fatalf("timeline %v", got)
	}
	// A precondition is no way around ownership.
	res = e.Do(apptest.Req{Method: "PATCH", Path: p, Token: e.team.Member.Token, Org: e.team.OrgID,
		Body: map[string]any{"title": "X"}, Headers: map[string]string{"If-Match": third}})
	apptest.WantProblem(t, res, http.StatusForbidden, "not_owner")
}

func TestDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range roles {
		u := e.team.As(role)
		own := e.deal(u, nil)
		others := e.deal(e.team.Owner, nil)
		e.must(http.StatusCreated, e.team.Member, "POST", activitiesPath(id(own)), map[string]any{"type": "comment", "payload": map[string]any{"text": "bye"}})
		e.must(http.StatusOK, u, "PATCH", dealPath(id(own)), map[string]any{"status": "in_progress"})
		e.must(http.StatusNoContent, u, "DELETE", dealPath(id(own)), nil)
		apptest.WantProblem(t, e.as(u, "GET", dealPath(id(own)), nil), http.StatusNotFound, "deal_not_found")
		apptest.WantProblem(t, e.as(u, "DELETE", dealPath(id(own)), nil), http.StatusNotFound, "deal_not_found")
		apptest.WantProblem(t, e.as(u, "GET", activitiesPath(id(own)), nil), http.StatusNotFound, "deal_not_found")
		// The deal is in the trash: its timeline waits there with it, for its restore.
		var left int
		if err := e.sql.QueryRow(context.Background(), "SELECT count(*) FROM activities WHERE deal_id = $1", id(own)).Scan(&left); err != nil || left != 3 {
			t.Fatalf("%s: %d activities kept with the deal in the trash, want 3 (%v)", role, left, err)
		}
		res := e.as(u, "DELETE", dealPath(id(others)), nil)
		if role == "member" {
			apptest.WantProblem(t, res, http.StatusForbidden, "not_owner")
			e.must(http.StatusOK, u, "GET", dealPath(id(others)), nil)
			continue
		}
		if res.Status != http.StatusNoContent {
			t.Fatalf("%s deleting another's: %d %s", role, res.Status, res.Body)
		}
	}
}

func TestListFiltersAndOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c2 := id(e.must(http.StatusCreated, e.team.Owner, "POST", "/api/v1/contacts", map[string]any{"name": "Second"}))
	type spec struct {
		title, amount, status, stage string
		owner                        apptest.User
		contact                      int64
	}
	specs := []spec{
		{"Delta", "500.00", "new", "qualification", e.team.Owner, e.contact},
		{"Alpha", "100.00", "won", "closed", e.team.Member, e.contact},
		{"Charlie", "100.00", "lost", "proposal", e.team.Member, c2},
		{"Bravo", "0.00", "in_progress", "proposal", e.team.Manager, c2},
		{"Echo", "99.99", "new", "negotiation", e.team.Owner, e.contact},
	}
	var ids []int64
	for _, s := range specs {
		d := e.deal(s.owner, map[string]any{"title": s.title, "amount": s.amount, "status": s.status, "stage": s.stage, "contact_id": s.contact})
		ids = append(ids, id(d))
	}
	// Another organization's deals never show.
	oc := e.Do(apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: e.team.Outsider.Token, Org: e.team.Outsider.OrgID, Body: map[string]any{"name": "o"}}).JSON()
	e.Do(apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: e.team.Outsider.Token, Org: e.team.Outsider.OrgID,
		Body: map[string]any{"contact_id": id(oc), "title": "Outside", "amount": 100}})
	// updated_at order differs from created_at order once the first deal is touched.
	e.must(http.StatusOK, e.team.Owner, "PATCH", dealPath(ids[0]), map[string]any{"title": "Delta!"})

	d0, d1, d2, d3, d4 := ids[0], ids[1], ids[2], ids[3], ids[4]
	for _, tt := range []struct {
		query string
		want  []int64
	}{
		{"", []int64{d4, d3, d2, d1, d0}},
		{"?order=asc", []int64{d0, d1, d2, d3, d4}},
		{"?order_by=created_at&order=desc", []int64{d4, d3, d2, d1, d0}},
		{"?order_by=updated_at", []int64{d0, d4, d3, d2, d1}},
		{"?order_by=amount&order=asc", []int64{d3, d4, d1, d2, d0}}, // equal amounts by id
		{"?order_by=amount", []int64{d0, d2, d1, d4, d3}},
		{"?order_by=title&order=asc", []int64{d1, d3, d2, d0, d4}},
		{"?status=new", []int64{d4, d0}},
		{"?status=new&status=won", []int64{d4, d1, d0}},
		{"?status=won&status=lost&status=in_progress&status=new", []int64{d4, d3, d2, d1, d0}},
		{"?stage=proposal", []int64{d3, d2}},
		{"?min_amount=100", []int64{d2, d1, d0}},
		{"?max_amount=100", []int64{d4, d3, d2, d1}},
		{"?min_amount=99.99&max_amount=100.00", []int64{d4, d2, d1}},
		{"?min_amount=100&max_amount=100", []int64{d2, d1}},
		{"?contact_id=" + fmt.Sprint(c2), []int64{d3, d2}},
		{"?contact_id=987654", []int64{}},
		{"?status=new&min_amount=100", []int64{d0}},
		{"?page_size=2", []int64{d4, d3}},
		{"?page_size=2&page=3", []int64{d0}},
		{"?page_size=2&page=4", []int64{}},
		{"?order_by=amount&order=asc&page_size=2&page=2", []int64{d1, d2}},
	} {
		for _, role := range roles {
			m := e.must(http.StatusOK, e.team.As(role), "GET", "/api/v1/deals"+tt.query, nil)
			var got []int64
			for _, it := range m["items"].([]any) {
				got = append(got, id(it.(map[string]any)))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("%s %q: %v, want %v", role, tt.query, got, tt.want)
			}
			if strings.Contains(tt.query, "page") {
				continue
			}
			if m["total"] != float64(len(tt.want)) {
				t.Fatalf("%s %q: total %v, want %d", role, tt.query, m["total"], len(tt.want))
			}
		}
	}
	m := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/deals?status=new&page_size=1&page=2", nil)
	if m["total"] != float64(2) || m["page"] != float64(2) || m["page_size"] != float64(1) || len(m["items"].([]any)) != 1 {
		t.Fatalf("envelope %v", m)
	}
	for _, role := range []string{"owner", "admin", "manager"} {
		m := e.must(http.StatusOK, e.team.As(role), "GET", fmt.Sprintf("/api/v1/deals?owner_id=%d", e.team.Member.ID), nil)
		if m["total"] != float64(2) {
			t.Fatalf("%s owner filter: %v", role, m)
		}
	}
	apptest.WantProblem(t, e.as(e.team.Member, "GET", fmt.Sprintf("/api/v1/deals?owner_id=%d", e.team.Member.ID), nil),
		http.StatusForbidden, "owner_filter_forbidden")
	for _, tt := range []struct {
		query string
		field string
	}{
		{"?status=open", "status"},
		{"?status=new&status=bogus", "status"},
		{"?status=", "status"},
		{"?stage=won", "stage"},
		{"?order_by=id", "order_by"},
		{"?order_by=amount;DROP", "order_by"},
		{"?order=up", "order"},
		{"?min_amount=abc", "min_amount"},
		{"?max_amount=-1", "max_amount"},
		{"?min_amount=1.001", "min_amount"},
		{"?min_amount=10&max_amount=5", "min_amount"},
		{"?owner_id=x", "owner_id"},
		{"?contact_id=0", "contact_id"},
		{"?page=0", "page"},
		{"?page_size=101", "page_size"},
	} {
		m := apptest.WantProblem(t, e.as(e.team.Owner, "GET", "/api/v1/deals"+tt.query, nil), http.StatusBadRequest, "invalid_query")
		if got := apptest.ProblemFields(m); len(got) == 0 || got[0] != tt.field || !strings.Contains(m["detail"].(string), tt.field) {
			t.Fatalf("%q: %v", tt.query, m)
		}
	}
}

func TestActivitiesEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.deal(e.team.Owner, nil)
	ap := activitiesPath(id(d))
	var comments []int64
	for _, role := range roles {
		u := e.team.As(role)
		// Anyone may comment on any deal, also on one they do not own.
		a := e.must(http.StatusCreated, u, "POST", ap, map[string]any{"type": "comment", "payload": map[string]any{"text": "by " + role}})
		if a["type"] != "comment" || num(a["author_id"]) != u.ID || num(a["deal_id"]) != id(d) ||
			!reflect.DeepEqual(a["payload"], map[string]any{"text": "by " + role}) || !strings.HasSuffix(a["created_at"].(string), "Z") {
			t.Fatalf("%s comment: %v", role, a)
		}
		comments = append(comments, id(a))
	}
	for _, role := range roles {
		m := e.must(http.StatusOK, e.team.As(role), "GET", ap+"?page_size=2", nil)
		items := m["items"].([]any)
		if m["total"] != float64(5) || len(items) != 2 || id(items[0].(map[string]any)) != comments[3] || id(items[1].(map[string]any)) != comments[2] {
			t.Fatalf("%s list: %v", role, m)
		}
	}
	m := e.must(http.StatusOK, e.team.Member, "GET", ap+"?page_size=2&page=3", nil)
	if items := m["items"].([]any); len(items) != 1 || items[0].(map[string]any)["type"] != "system" {
		t.Fatalf("last page: %v", m)
	}
	for _, tt := range []struct {
		body   any
		code   string
		fields []string
	}{
		{map[string]any{"type": "system", "payload": map[string]any{"event": "deal_created"}}, "activity_type_not_allowed", []string{"type"}},
		{map[string]any{"type": "status_changed", "payload": map[string]any{"from": "new", "to": "won"}}, "activity_type_not_allowed", []string{"type"}},
		{map[string]any{"type": "note", "payload": map[string]any{"text": "x"}}, "activity_type_not_allowed", []string{"type"}},
		{map[string]any{"payload": map[string]any{"text": "x"}}, "validation_failed", []string{"type"}},
		{map[string]any{"type": "comment"}, "validation_failed", []string{"payload"}},
		{map[string]any{"type": "comment", "payload": "x"}, "validation_failed", []string{"payload"}},
		{map[string]any{"type": "comment", "payload": map[string]any{}}, "validation_failed", []string{"payload.text"}},
		{map[string]any{"type": "comment", "payload": map[string]any{"text": ""}}, "validation_failed", []string{"payload.text"}},
		{map[string]any{"type": "comment", "payload": map[string]any{"text": strings.Repeat("x", 10001)}}, "validation_failed", []string{"payload.text"}},
		{map[string]any{"type": "comment", "payload": map[string]any{"text": "x", "extra": 1}}, "unknown_field", []string{"payload.extra"}},
		{map[string]any{"type": "comment", "payload": map[string]any{"text": "x"}, "author_id": 1}, "unknown_field", []string{"author_id"}},
	} {
		m := apptest.WantProblem(t, e.as(e.team.Member, "POST", ap, tt.body), http.StatusBadRequest, tt.code)
		if got := apptest.ProblemFields(m); !slices.Equal(got, tt.fields) {
			t.Fatalf("%v: fields %v, want %v", tt.body, got, tt.fields)
		}
	}
	long := e.must(http.StatusCreated, e.team.Member, "POST", ap, map[string]any{"type": "comment", "payload": map[string]any{"text": strings.Repeat("é", 10000)}})
	if len([]rune(long["payload"].(map[string]any)["text"].(string))) != 10000 {
		t.Fatal("longest comment cut")
	}
	if got := e.must(http.StatusOK, e.team.Owner, "GET", ap, nil)["total"]; got != float64(6) {
		t.Fatalf("rejected comments were stored: total %v", got)
	}
	apptest.WantProblem(t, e.as(e.team.Owner, "GET", activitiesPath(987654), nil), http.StatusNotFound, "deal_not_found")
	apptest.WantProblem(t, e.as(e.team.Owner, "POST", activitiesPath(987654), map[string]any{"type": "comment", "payload": map[string]any{"text": "x"}}),
		http.StatusNotFound, "deal_not_found")
	apptest.WantProblem(t, e.as(e.team.Owner, "GET", "/api/v1/deals/x/activities", nil), http.StatusNotFound, "not_found")
	apptest.WantProblem(t, e.as(e.team.Owner, "GET", ap+"?page_size=0", nil), http.StatusBadRequest, "invalid_query")
	res := e.Do(apptest.Req{Method: "POST", Path: ap, Token: e.team.Outsider.Token, Org: e.team.OrgID,
		Body: map[string]any{"type": "comment", "payload": map[string]any{"text": "x"}}})
	apptest.WantProblem(t, res, http.StatusForbidden, "not_a_member")
}
