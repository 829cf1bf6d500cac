package pipelines_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/pipelines"
	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
)

var roles = []string{"owner", "admin", "manager", "member"}

type env struct {
	*apptest.Server
	team apptest.Team
}

func newEnv(t *testing.T) env {
	s := apptest.New(t)
	return env{Server: s, team: s.NewTeam()}
}

func (e env) as(u apptest.User, method, path string, body any) apptest.Response {
	e.T.Helper()
	return e.Do(apptest.Req{Method: method, Path: path, Body: body, Token: u.Token, Org: e.team.OrgID})
}

func (e env) must(want int, u apptest.User, method, path string, body any) map[string]any {
	e.T.Helper()
	res := e.as(u, method, path, body)
	if res.Status != want {
		e.T.Fatalf("%s %s: status %d, want %d; body %s", method, path, res.Status, want, res.Body)
	}
	return res.JSON()
}

// pipeline is a pipeline as the API renders it.
type pipeline struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Position  int     `json:"position"`
	IsDefault bool    `json:"is_default"`
	Stages    []stage `json:"stages"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

type stage struct {
	ID          int64  `json:"id"`
	Key         string `json:"key"`
	Name        string `json:"name"`
	Position    int    `json:"position"`
	Probability int    `json:"probability"`
	RottenDays  *int   `json:"rotten_days"`
}

func (p pipeline) keys() string {
	var out []string
	for _, s := range p.Stages {
		out = append(out, s.Key)
	}
	return strings.Join(out, ",")
}

func (p pipeline) stage(key string) stage {
	for _, s := range p.Stages {
		if s.Key == key {
			return s
		}
	}
	return stage{}
}

func (e env) decode(res apptest.Response) pipeline {
	e.T.Helper()
	var p pipeline
	res.Decode(e.T, &p)
	return p
}

func (e env) create(body map[string]any) pipeline {
	e.T.Helper()
	res := e.as(e.team.Owner, "POST", "/api/v1/pipelines", body)
	if res.Status != http.StatusCreated {
		e.T.Fatalf("create: %d %s", res.Status, res.Body)
	}
	return e.decode(res)
}

func (e env) list(u apptest.User) []pipeline {
	e.T.Helper()
	var page struct{ Items []pipeline }
	e.as(u, "GET", "/api/v1/pipelines", nil).Decode(e.T, &page)
	return page.Items
}

func path(id int64) string { return fmt.Sprintf("/api/v1/pipelines/%d", id) }

func stagePath(p pipeline, key string) string {
	return fmt.Sprintf("/api/v1/pipelines/%d/stages/%d", p.ID, p.stage(key).ID)
}

func fields(m map[string]any) []string {
	var out []string
	errs, _ := m["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// The default pipeline of part 1, as every organization has it.
const defaultStages = "qualification:Qualification:1:10,proposal:Proposal:2:30,negotiation:Negotiation:3:60,closed:Closed:4:100"

func describe(p pipeline) string {
	var out []string
	for _, s := range p.Stages {
		out = append(out, fmt.Sprintf("%s:%s:%d:%d", s.Key, s.Name, s.Position, s.Probability))
	}
	return strings.Join(out, ",")
}

// An organization made at sign-up and one made with POST /organizations both have the
// default pipeline, and every role reads it.
func TestNewOrganizationsHaveTheDefaultPipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range roles {
		ps := e.list(e.team.As(role))
		if len(ps) != 1 || ps[0].Name != "Sales" || !ps[0].IsDefault || ps[0].Position != 1 || describe(ps[0]) != defaultStages {
			t.Fatalf("%s reads %+v", role, ps)
		}
		if ps[0].Stages[0].RottenDays != nil {
			t.Fatalf("rotten_days %v", *ps[0].Stages[0].RottenDays)
		}
		e.must(200, e.team.As(role), "GET", path(ps[0].ID), nil)
	}
	org := int64(e.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/organizations", Token: e.team.Owner.Token,
		Body: map[string]any{"name": "Second"}}).JSON()["id"].(float64))
	var page struct{ Items []pipeline }
	e.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/pipelines", Token: e.team.Owner.Token, Org: org}).Decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "Sales" || describe(page.Items[0]) != defaultStages {
		t.Fatalf("new organization: %+v", page.Items)
	}
	// The facade gives the same pipeline.
	k := e.App.Kernel
	facade, err := kernel.Resolve[pipelinesapi.Pipelines](k)
	if err != nil {
		t.Fatal(err)
	}
	ctx := database.WithTenant(context.Background(), org)
	def, err := facade.Default(ctx, org)
	if err != nil || def.ID != page.Items[0].ID || strings.Join(def.Keys(), ",") != "qualification,proposal,negotiation,closed" ||
		def.First().Key != "qualification" {
		t.Fatalf("facade default %+v %v", def, err)
	}
	if st, ok := def.StageByKey("negotiation"); !ok || st.Probability != 60 || st.Position != 3 {
		t.Fatalf("StageByKey %+v %v", st, ok)
	}
	if _, ok := def.StageByKey("won"); ok {
		t.Fatal("StageByKey found a stage the pipeline lacks")
	}
	if _, err := facade.Pipeline(ctx, org, e.list(e.team.Owner)[0].ID); !errors.Is(err, pipelinesapi.ErrPipelineNotFound) {
		t.Fatalf("another organization's pipeline through the facade: %v", err)
	}
	all, err := facade.Pipelines(ctx, org)
	if err != nil || len(all) != 1 || all[0].ID != def.ID {
		t.Fatalf("facade pipelines %+v %v", all, err)
	}
}

func TestCreateGetListUpdateDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sales := e.list(e.team.Owner)[0]
	p := e.create(map[string]any{"name": "  Partners ", "stages": []any{
		map[string]any{"key": "lead"},
		map[string]any{"key": "closed_won", "probability": 100, "rotten_days": 30},
		map[string]any{"key": "intro", "name": "  First call ", "probability": 20, "rotten_days": nil},
	}})
	if p.Name != "Partners" || p.Position != 2 || p.IsDefault || p.keys() != "lead,closed_won,intro" {
		t.Fatalf("created %+v", p)
	}
	if s := p.stage("lead"); s.Name != "Lead" || s.Probability != 0 || s.RottenDays != nil || s.Position != 1 {
		t.Fatalf("lead %+v", s)
	}
	if s := p.stage("closed_won"); s.Name != "Closed won" || s.Probability != 100 || s.RottenDays == nil || *s.RottenDays != 30 {
		t.Fatalf("closed_won %+v", s)
	}
	if s := p.stage("intro"); s.Name != "First call" || s.Position != 3 {
		t.Fatalf("intro %+v", s)
	}
	res := e.as(e.team.Owner, "GET", path(p.ID), nil)
	if got := e.decode(res); got.ID != p.ID || got.keys() != p.keys() || got.UpdatedAt != p.UpdatedAt {
		t.Fatalf("get %s", res.Body)
	}
	third := e.create(map[string]any{"name": "Hiring", "stages": []any{map[string]any{"key": "applied"}}})
	names := func() string {
		var out []string
		for _, x := range e.list(e.team.Member) {
			out = append(out, fmt.Sprintf("%s@%d", x.Name, x.Position))
		}
		return strings.Join(out, ",")
	}
	if got := names(); got != "Sales@1,Partners@2,Hiring@3" {
		t.Fatalf("list %s", got)
	}
	// Moving renumbers the others; a position past the end means the end.
	e.must(200, e.team.Admin, "PATCH", path(third.ID), map[string]any{"position": 1})
	if got := names(); got != "Hiring@1,Sales@2,Partners@3" {
		t.Fatalf("after move: %s", got)
	}
	e.must(200, e.team.Admin, "PATCH", path(third.ID), map[string]any{"position": 99})
	if got := names(); got != "Sales@1,Partners@2,Hiring@3" {
		t.Fatalf("after move to the end: %s", got)
	}
	// Rename; a patch that changes nothing keeps updated_at.
	before := e.decode(e.as(e.team.Owner, "GET", path(p.ID), nil))
	same := e.decode(e.as(e.team.Owner, "PATCH", path(p.ID), map[string]any{"name": "Partners", "position": 2, "is_default": false}))
	if same.UpdatedAt != before.UpdatedAt || same.Name != "Partners" {
		t.Fatalf("no-op patch %+v", same)
	}
	renamed := e.decode(e.as(e.team.Owner, "PATCH", path(p.ID), map[string]any{"name": "Channel"}))
	if renamed.Name != "Channel" || renamed.keys() != p.keys() {
		t.Fatalf("renamed %+v", renamed)
	}
	// The default flag moves; false on the default is refused.
	moved := e.decode(e.as(e.team.Owner, "PATCH", path(p.ID), map[string]any{"is_default": true}))
	if !moved.IsDefault {
		t.Fatalf("not default: %+v", moved)
	}
	if old := e.decode(e.as(e.team.Owner, "GET", path(sales.ID), nil)); old.IsDefault {
		t.Fatalf("two defaults: %+v", old)
	}
	apptest.WantProblem(t, e.as(e.team.Owner, "PATCH", path(p.ID), map[string]any{"is_default": false}), 409, "default_pipeline")
	apptest.WantProblem(t, e.as(e.team.Owner, "DELETE", path(p.ID), nil), 409, "default_pipeline")
	// The former default can now be deleted; the rest are renumbered.
	e.must(204, e.team.Owner, "DELETE", path(sales.ID), nil)
	apptest.WantProblem(t, e.as(e.team.Owner, "GET", path(sales.ID), nil), 404, "pipeline_not_found")
	if got := names(); got != "Channel@1,Hiring@2" {
		t.Fatalf("after delete: %s", got)
	}
	apptest.WantProblem(t, e.as(e.team.Owner, "DELETE", path(sales.ID), nil), 404, "pipeline_not_found")
}

func TestStages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.list(e.team.Owner)[0]
	add := func(body map[string]any) pipeline {
		t.Helper()
		res := e.as(e.team.Admin, "POST", path(p.ID)+"/stages", body)
		if res.Status != 201 || res.Header.Get("Location") != path(p.ID) {
			t.Fatalf("add %v: %d %s", body, res.Status, res.Body)
		}
		return e.decode(res)
	}
	got := add(map[string]any{"key": "won"})
	if got.keys() != "qualification,proposal,negotiation,closed,won" || got.stage("won").Position != 5 || got.stage("won").Name != "Won" {
		t.Fatalf("added last: %+v", got)
	}
	if got.UpdatedAt < p.UpdatedAt {
		t.Fatalf("updated_at went back")
	}
	got = add(map[string]any{"key": "demo", "name": "Demo", "probability": 20, "rotten_days": 14, "position": 2})
	if got.keys() != "qualification,demo,proposal,negotiation,closed,won" {
		t.Fatalf("added at 2: %s", got.keys())
	}
	for i, s := range got.Stages {
		if s.Position != i+1 {
			t.Fatalf("positions %+v", got.Stages)
		}
	}
	got = add(map[string]any{"key": "early", "position": 1000})
	if got.keys() != "qualification,demo,proposal,negotiation,closed,won,early" {
		t.Fatalf("position past the end: %s", got.keys())
	}
	// Update fields and move.
	upd := e.decode(e.as(e.team.Owner, "PATCH", stagePath(got, "early"), map[string]any{"name": "Early", "probability": 5, "rotten_days": 7, "position": 1}))
	if upd.keys() != "early,qualification,demo,proposal,negotiation,closed,won" || upd.stage("early").Probability != 5 ||
		*upd.stage("early").RottenDays != 7 || upd.stage("early").Name != "Early" {
		t.Fatalf("patched %+v", upd)
	}
	upd = e.decode(e.as(e.team.Owner, "PATCH", stagePath(upd, "early"), map[string]any{"rotten_days": nil, "position": 4}))
	if upd.keys() != "qualification,demo,proposal,early,negotiation,closed,won" || upd.stage("early").RottenDays != nil {
		t.Fatalf("moved down %+v", upd)
	}
	same := e.decode(e.as(e.team.Owner, "PATCH", stagePath(upd, "early"), map[string]any{"position": 4, "probability": 5}))
	if same.UpdatedAt != upd.UpdatedAt {
		t.Fatal("a patch that changes nothing moved updated_at")
	}
	// Keys never change.
	res := e.as(e.team.Owner, "PATCH", stagePath(upd, "early"), map[string]any{"key": "later"})
	if m := apptest.WantProblem(t, res, 400, "unknown_field"); !slices.Equal(fields(m), []string{"key"}) {
		t.Fatalf("key in a patch: %s", res.Body)
	}
	// Adding a key the pipeline has is a conflict.
	apptest.WantProblem(t, e.as(e.team.Owner, "POST", path(p.ID)+"/stages", map[string]any{"key": "demo"}), 409, "stage_key_taken")
	// Delete: renumbers; an unknown move_to lists the allowed keys; the last stage stays.
	res = e.as(e.team.Owner, "DELETE", stagePath(upd, "demo")+"?move_to=nowhere", nil)
	m := apptest.WantProblem(t, res, 400, "unknown_stage")
	if !slices.Equal(fields(m), []string{"move_to"}) || !strings.Contains(m["detail"].(string), "qualification, proposal, early, negotiation, closed, won") ||
		strings.Contains(m["detail"].(string), "demo") {
		t.Fatalf("unknown move_to: %s", res.Body)
	}
	apptest.WantProblem(t, e.as(e.team.Owner, "DELETE", stagePath(upd, "demo")+"?move_to=demo", nil), 400, "unknown_stage")
	e.must(204, e.team.Owner, "DELETE", stagePath(upd, "demo")+"?move_to=proposal", nil)
	e.must(204, e.team.Owner, "DELETE", stagePath(upd, "early"), nil)
	apptest.WantProblem(t, e.as(e.team.Owner, "DELETE", stagePath(upd, "early"), nil), 404, "stage_not_found")
	after := e.decode(e.as(e.team.Owner, "GET", path(p.ID), nil))
	if describe(after) != "qualification:Qualification:1:10,proposal:Proposal:2:30,negotiation:Negotiation:3:60,closed:Closed:4:100,won:Won:5:0" {
		t.Fatalf("after deletes: %s", describe(after))
	}
	one := e.create(map[string]any{"name": "One", "stages": []any{map[string]any{"key": "only"}}})
	apptest.WantProblem(t, e.as(e.team.Owner, "DELETE", stagePath(one, "only"), nil), 409, "last_stage")
	// A stage id of another pipeline is not found in this one.
	res = e.as(e.team.Owner, "PATCH", fmt.Sprintf("/api/v1/pipelines/%d/stages/%d", p.ID, one.Stages[0].ID), map[string]any{"name": "x"})
	apptest.WantProblem(t, res, 404, "stage_not_found")
	// At most 50 stages.
	var stages []any
	for i := range 50 {
		stages = append(stages, map[string]any{"key": fmt.Sprintf("s%d", i)})
	}
	full := e.create(map[string]any{"name": "Full", "stages": stages})
	apptest.WantProblem(t, e.as(e.team.Owner, "POST", path(full.ID)+"/stages", map[string]any{"key": "more"}), 409, "too_many_stages")
}

func TestValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.list(e.team.Owner)[0]
	stages := func(n int) []any {
		var out []any
		for i := range n {
			out = append(out, map[string]any{"key": fmt.Sprintf("k%d", i)})
		}
		return out
	}
	one := []any{map[string]any{"key": "a"}}
	for _, c := range []struct {
		name, method, path string
		body               any
		code               string
		fields             []string
	}{
		{"no name", "POST", "/api/v1/pipelines", map[string]any{"stages": one}, "validation_failed", []string{"name"}},
		{"blank name", "POST", "/api/v1/pipelines", map[string]any{"name": "  ", "stages": one}, "validation_failed", []string{"name"}},
		{"long name", "POST", "/api/v1/pipelines", map[string]any{"name": strings.Repeat("x", 101), "stages": one}, "validation_failed", []string{"name"}},
		{"no stages", "POST", "/api/v1/pipelines", map[string]any{"name": "X"}, "validation_failed", []string{"stages"}},
		{"empty stages", "POST", "/api/v1/pipelines", map[string]any{"name": "X", "stages": []any{}}, "validation_failed", []string{"stages"}},
		{"51 stages", "POST", "/api/v1/pipelines", map[string]any{"name": "X", "stages": stages(51)}, "validation_failed", []string{"stages"}},
		{"bad keys", "POST", "/api/v1/pipelines", map[string]any{"name": "X", "stages": []any{
			map[string]any{"key": "Upper"}, map[string]any{"key": "1st"}, map[string]any{"key": ""},
			map[string]any{"key": "a" + strings.Repeat("b", 50)}, map[string]any{"key": "with-dash"}}},
			"validation_failed", []string{"stages[0].key", "stages[1].key", "stages[2].key", "stages[3].key", "stages[4].key"}},
		{"duplicate key", "POST", "/api/v1/pipelines", map[string]any{"name": "X", "stages": []any{
			map[string]any{"key": "a"}, map[string]any{"key": "b"}, map[string]any{"key": "a"}}}, "validation_failed", []string{"stages[2].key"}},
		{"stage values", "POST", "/api/v1/pipelines", map[string]any{"name": "X", "stages": []any{
			map[string]any{"key": "a", "probability": 101, "rotten_days": 0, "name": ""},
			map[string]any{"key": "b", "probability": -1, "rotten_days": 3651, "name": strings.Repeat("n", 101)}}},
			"validation_failed", []string{"stages[0].name", "stages[0].probability", "stages[0].rotten_days",
				"stages[1].name", "stages[1].probability", "stages[1].rotten_days"}},
		// Type errors and unknown fields inside an array are named as the JSON decoder
		// names them (without the index).
		{"fractional probability", "POST", "/api/v1/pipelines", map[string]any{"name": "X", "stages": []any{
			map[string]any{"key": "a", "probability": 1.5}}}, "validation_failed", []string{"stages.probability"}},
		{"unknown stage field", "POST", "/api/v1/pipelines", map[string]any{"name": "X", "stages": []any{
			map[string]any{"key": "a", "id": 3}}}, "unknown_field", []string{"id"}},
		{"is_default on create", "POST", "/api/v1/pipelines", map[string]any{"name": "X", "stages": one, "is_default": true}, "unknown_field", []string{"is_default"}},
		{"patch nulls", "PATCH", path(p.ID), map[string]any{"name": nil, "position": nil, "is_default": nil}, "validation_failed", []string{"name", "position", "is_default"}},
		{"patch values", "PATCH", path(p.ID), map[string]any{"name": "", "position": 0}, "validation_failed", []string{"name", "position"}},
		{"patch stages", "PATCH", path(p.ID), map[string]any{"stages": one}, "unknown_field", []string{"stages"}},
		{"add bad stage", "POST", path(p.ID) + "/stages", map[string]any{"key": "Bad", "probability": 200, "rotten_days": -3, "position": 0},
			"validation_failed", []string{"key", "probability", "rotten_days", "position"}},
		{"add without key", "POST", path(p.ID) + "/stages", map[string]any{"name": "N"}, "validation_failed", []string{"key"}},
		{"stage patch values", "PATCH", stagePath(p, "proposal"), map[string]any{"name": " ", "probability": 101, "rotten_days": 3651, "position": -1},
			"validation_failed", []string{"name", "probability", "rotten_days", "position"}},
		{"stage patch nulls", "PATCH", stagePath(p, "proposal"), map[string]any{"name": nil, "probability": nil, "position": nil},
			"validation_failed", []string{"name", "probability", "position"}},
	} {
		res := e.as(e.team.Owner, c.method, c.path, c.body)
		m := apptest.WantProblem(t, res, 400, c.code)
		if got := fields(m); !slices.Equal(got, c.fields) {
			t.Errorf("%s: fields %v, want %v (%s)", c.name, got, c.fields, res.Body)
		}
	}
	// Names are unique in an organization.
	e.create(map[string]any{"name": "Taken", "stages": one})
	apptest.WantProblem(t, e.as(e.team.Owner, "POST", "/api/v1/pipelines", map[string]any{"name": "Taken", "stages": one}), 409, "pipeline_name_taken")
	apptest.WantProblem(t, e.as(e.team.Owner, "PATCH", path(p.ID), map[string]any{"name": "Taken"}), 409, "pipeline_name_taken")
	// Nothing was written by the refused requests.
	if ps := e.list(e.team.Owner); len(ps) != 2 || describe(ps[0]) != defaultStages || ps[0].Name != "Sales" {
		t.Fatalf("after refused writes: %+v", ps)
	}
}

// Reads are for every role, writes for owner and admin; manager and member get 403
// forbidden and change nothing.
func TestRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.list(e.team.Owner)[0]
	extra := e.create(map[string]any{"name": "Extra", "stages": []any{map[string]any{"key": "a"}, map[string]any{"key": "b"}}})
	writes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/pipelines", map[string]any{"name": "New", "stages": []any{map[string]any{"key": "a"}}}},
		{"PATCH", path(p.ID), map[string]any{"name": "Renamed"}},
		{"DELETE", stagePath(extra, "a"), nil},
		{"POST", path(p.ID) + "/stages", map[string]any{"key": "won"}},
		{"PATCH", stagePath(p, "proposal"), map[string]any{"probability": 35}},
		{"DELETE", path(extra.ID), nil},
	}
	for _, role := range []string{"manager", "member"} {
		for _, w := range writes {
			apptest.WantProblem(t, e.as(e.team.As(role), w.method, w.path, w.body), 403, "forbidden")
		}
		e.must(200, e.team.As(role), "GET", "/api/v1/pipelines", nil)
		e.must(200, e.team.As(role), "GET", path(p.ID), nil)
	}
	if ps := e.list(e.team.Owner); len(ps) != 2 || describe(ps[0]) != defaultStages || ps[0].Name != "Sales" || len(ps[1].Stages) != 2 {
		t.Fatalf("forbidden writes changed %+v", ps)
	}
	for i, w := range writes {
		u := e.team.Admin
		if i%2 == 1 {
			u = e.team.Owner
		}
		if res := e.as(u, w.method, w.path, w.body); res.Status >= 300 {
			t.Errorf("%s %s: %d %s", w.method, w.path, res.Status, res.Body)
		}
	}
}

// Another organization's pipelines and stages are not found, exactly like ids that never
// existed, and its writes leave them alone.
func TestOtherOrganizationsPipelinesAreNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine := e.list(e.team.Owner)[0]
	out := e.team.Outsider
	as := func(method, p string, body any) apptest.Response {
		return e.Do(apptest.Req{Method: method, Path: p, Token: out.Token, Org: out.OrgID, Body: body})
	}
	theirs := e.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/pipelines", Token: out.Token, Org: out.OrgID}).JSON()["items"].([]any)
	if len(theirs) != 1 || int64(theirs[0].(map[string]any)["id"].(float64)) == mine.ID {
		t.Fatalf("outsider's pipelines %v", theirs)
	}
	never := pipeline{ID: mine.ID + 100000, Stages: []stage{{ID: mine.Stages[0].ID + 100000, Key: "qualification"}}}
	for _, c := range []struct {
		method, path, never string
		body                any
	}{
		{"GET", path(mine.ID), path(never.ID), nil},
		{"PATCH", path(mine.ID), path(never.ID), map[string]any{"name": "Stolen"}},
		{"DELETE", path(mine.ID), path(never.ID), nil},
		{"POST", path(mine.ID) + "/stages", path(never.ID) + "/stages", map[string]any{"key": "stolen"}},
		{"PATCH", stagePath(mine, "proposal"), stagePath(never, "qualification"), map[string]any{"name": "Stolen"}},
		{"DELETE", stagePath(mine, "proposal"), stagePath(never, "qualification"), nil},
	} {
		a, n := as(c.method, c.path, c.body), as(c.method, c.never, c.body)
		apptest.WantProblem(t, a, 404, "pipeline_not_found")
		apptest.SameProblem(t, a, n)
	}
	if got := e.list(e.team.Owner)[0]; describe(got) != defaultStages || got.Name != "Sales" || got.UpdatedAt != mine.UpdatedAt {
		t.Fatalf("changed by the outsider: %+v", got)
	}
}

// Writes record pipeline.created, pipeline.updated (stage changes included, with the previous
// attributes) and pipeline.deleted in the change feed; the default pipeline, which an
// organization has from its start, records none.
func TestEventsAreWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.create(map[string]any{"name": "Events", "stages": []any{map[string]any{"key": "a"}, map[string]any{"key": "b"}}})
	e.must(200, e.team.Owner, "PATCH", path(p.ID), map[string]any{"name": "Renamed"})
	e.must(200, e.team.Owner, "PATCH", stagePath(p, "b"), map[string]any{"position": 1})
	e.must(204, e.team.Owner, "DELETE", path(p.ID), nil)
	if _, err := e.App.Outbox.Sequence(context.Background()); err != nil {
		t.Fatal(err)
	}
	var feed struct {
		Items []struct {
			Type string
			Data struct {
				Object             map[string]any
				PreviousAttributes map[string]any `json:"previous_attributes"`
			}
		}
	}
	e.as(e.team.Member, "GET", "/api/v1/events?page_size=1000", nil).Decode(t, &feed)
	var got []string
	for _, ev := range feed.Items {
		if !strings.HasPrefix(ev.Type, "pipeline.") {
			continue
		}
		o := ev.Data.Object
		desc := fmt.Sprintf("%s %s %v", ev.Type, o["name"], o["object"])
		if ev.Type == "pipeline.updated" {
			prev, _ := ev.Data.PreviousAttributes["name"].(string)
			stages, _ := ev.Data.PreviousAttributes["stages"].([]any)
			desc += fmt.Sprintf(" prev name %q, prev stages %d", prev, len(stages))
		} else if ev.Data.PreviousAttributes != nil {
			desc += " with previous_attributes"
		}
		got = append(got, desc)
	}
	want := []string{
		"pipeline.created Events pipeline",
		`pipeline.updated Renamed pipeline prev name "Events", prev stages 0`,
		`pipeline.updated Renamed pipeline prev name "", prev stages 2`,
		"pipeline.deleted Renamed pipeline",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Concurrent reorders of one pipeline's stages serialize on the pipeline's row lock: every
// request succeeds and the stages end at positions 1..n, each once.
func TestConcurrentStageMovesKeepPositionsDistinct(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var keys []any
	for i := range 8 {
		keys = append(keys, map[string]any{"key": fmt.Sprintf("s%d", i)})
	}
	p := e.create(map[string]any{"name": "Busy", "stages": keys})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				st := p.Stages[(w*3+i)%len(p.Stages)]
				u := e.team.Owner
				if w%2 == 1 {
					u = e.team.Admin
				}
				res := e.Do(apptest.Req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/pipelines/%d/stages/%d", p.ID, st.ID),
					Token: u.Token, Org: e.team.OrgID, Body: map[string]any{"position": 1 + (w+i*5)%len(p.Stages)}})
				if res.Status != 200 {
					errs <- fmt.Sprintf("%d %s", res.Status, res.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	got := e.decode(e.as(e.team.Owner, "GET", path(p.ID), nil))
	seen := map[int]bool{}
	for _, s := range got.Stages {
		seen[s.Position] = true
	}
	if len(got.Stages) != 8 || len(seen) != 8 || !seen[1] || !seen[8] {
		t.Fatalf("positions after concurrent moves: %+v", got.Stages)
	}
	// The database agrees, stage by stage.
	ctx := database.WithTenant(context.Background(), e.team.OrgID)
	var n, distinct, lo, hi int
	if err := e.App.DB.Q(ctx).QueryRow(ctx, `SELECT count(*), count(DISTINCT position), min(position), max(position)
		FROM pipeline_stages WHERE pipeline_id = $1`, p.ID).Scan(&n, &distinct, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if n != 8 || distinct != 8 || lo != 1 || hi != 8 {
		t.Fatalf("database: %d stages, %d positions, %d..%d", n, distinct, lo, hi)
	}
}

// fakeDeals stands in for the deals module's DealCounter and StageMover.
type fakeDeals struct {
	mu      sync.Mutex
	inPipe  map[int64]int64
	atStage map[string]int64
	moves   []string
	moveErr error
}

func (f *fakeDeals) CountDealsInPipeline(_ context.Context, _, pipelineID int64) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inPipe[pipelineID], nil
}

func (f *fakeDeals) CountDealsAtStage(_ context.Context, _, pipelineID int64, key string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.atStage[fmt.Sprint(pipelineID, key)], nil
}

func (f *fakeDeals) MoveDealsBetweenStages(ctx context.Context, _, pipelineID int64, from, to string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !database.InTx(ctx) {
		return 0, fmt.Errorf("moved outside the delete's transaction")
	}
	if f.moveErr != nil {
		return 0, f.moveErr
	}
	f.moves = append(f.moves, fmt.Sprintf("%d:%s->%s", pipelineID, from, to))
	n := f.atStage[fmt.Sprint(pipelineID, from)]
	f.atStage[fmt.Sprint(pipelineID, to)] += n
	delete(f.atStage, fmt.Sprint(pipelineID, from))
	return n, nil
}

// With a deal counter and mover present (as the deals module will provide them), a pipeline
// or stage with deals is not deleted, unless move_to names the stage to move them to, which
// happens in the delete's transaction.
func TestDeletesAskTheDeals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var svc *pipelines.Service
	for _, m := range e.App.Modules {
		if pm, ok := m.(*pipelines.Module); ok {
			svc = pm.Service()
		}
	}
	p := e.create(map[string]any{"name": "With deals", "stages": []any{map[string]any{"key": "a"}, map[string]any{"key": "b"}, map[string]any{"key": "c"}}})
	f := &fakeDeals{inPipe: map[int64]int64{p.ID: 3}, atStage: map[string]int64{fmt.Sprint(p.ID, "a"): 2, fmt.Sprint(p.ID, "b"): 1}}
	svc.UseDeals(f, f)
	res := e.as(e.team.Owner, "DELETE", path(p.ID), nil)
	if m := apptest.WantProblem(t, res, 409, "pipeline_has_deals"); !strings.Contains(m["detail"].(string), "3 deals") {
		t.Fatalf("detail %s", res.Body)
	}
	res = e.as(e.team.Owner, "DELETE", stagePath(p, "a"), nil)
	if m := apptest.WantProblem(t, res, 409, "stage_has_deals"); !strings.Contains(m["detail"].(string), "2 deals") {
		t.Fatalf("detail %s", res.Body)
	}
	// A failing move rolls the delete back.
	f.moveErr = fmt.Errorf("boom")
	if res := e.as(e.team.Owner, "DELETE", stagePath(p, "a")+"?move_to=c", nil); res.Status != 500 {
		t.Fatalf("failing move: %d %s", res.Status, res.Body)
	}
	if got := e.decode(e.as(e.team.Owner, "GET", path(p.ID), nil)); got.keys() != "a,b,c" {
		t.Fatalf("after a failed move: %s", got.keys())
	}
	f.moveErr = nil
	f.atStage = map[string]int64{fmt.Sprint(p.ID, "a"): 2, fmt.Sprint(p.ID, "b"): 1}
	e.must(204, e.team.Owner, "DELETE", stagePath(p, "a")+"?move_to=c", nil)
	if got := e.decode(e.as(e.team.Owner, "GET", path(p.ID), nil)); got.keys() != "b,c" || got.Stages[0].Position != 1 {
		t.Fatalf("after the move: %+v", got)
	}
	if strings.Join(f.moves, ",") != fmt.Sprintf("%d:a->c", p.ID) {
		t.Fatalf("moves %v", f.moves)
	}
	f.inPipe[p.ID] = 0
	e.must(204, e.team.Owner, "DELETE", path(p.ID), nil)
}
