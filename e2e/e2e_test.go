package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/openapi"
	"github.com/mini-crm/crm/platform/testdb"
)

const scenarioDir = "scenarios"

// TestScenarios runs every scenario against the compiled service over real HTTP.
func TestScenarios(t *testing.T) {
	scenarios, err := LoadScenarios(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		t.Skip("-short: the e2e scenarios need the compiled service and PostgreSQL")
	}
	bin := buildBinary(t)
	srv := startServer(t, bin, testdb.URL(t, app.Sources()))
	playAll(t, scenarios, NewRunner(t, srv), srv)
}

// TestScenariosOnTwoReplicas runs every scenario against two replicas of the service on one
// database, the steps of each story alternating between them: a read through one replica of
// a write through the other must be fresh (analytics included: caches are invalidated on
// every replica at commit). The replicas share their sign-in and API-key counters through
// Redis, as replicas must (REDIS_URL); without a Redis the test is skipped, except in CI.
func TestScenariosOnTwoReplicas(t *testing.T) {
	scenarios, err := LoadScenarios(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		t.Skip("-short: the e2e scenarios need the compiled service and PostgreSQL")
	}
	redisURL := testdb.Redis(t, 3) // the suite's own database: package tests use 0
	bin := buildBinary(t)
	db := testdb.URL(t, app.Sources())
	a := startServer(t, bin, db, "REDIS_URL="+redisURL)
	b := startServer(t, bin, db, "REDIS_URL="+redisURL, "MIGRATE_ON_START=false")
	playAll(t, scenarios, NewRunner(t, a, b), a, b)
}

// playAll plays every scenario with r, then stops the servers, each of which must exit
// cleanly (and, in a race-enabled build, without a data race).
func playAll(t *testing.T, scenarios []*Scenario, r *Runner, servers ...*Server) {
	t.Helper()
	var ran, known []string
	for i, sc := range scenarios {
		name := strings.TrimSuffix(sc.File, ".yaml")
		t.Run(name, func(t *testing.T) {
			if missing := r.Missing(t, sc); len(missing) > 0 {
				t.Fatalf("%q calls operations the service does not serve: %s", sc.Title, strings.Join(missing, ", "))
			}
			ran = append(ran, name)
			known = append(known, r.Run(t, sc, fmt.Sprintf("%s-%d", r.runID, i))...)
		})
	}
	t.Logf("e2e: %d scenarios ran: %s", len(ran), strings.Join(ran, ", "))
	if len(known) > 0 {
		t.Logf("e2e: %d known issues still present: %s", len(known), strings.Join(known, "; "))
	}
	for _, srv := range servers {
		if err := srv.Stop(); err != nil {
			log := srv.log.String()
			if i := strings.Index(log, "WARNING: DATA RACE"); i >= 0 {
				t.Errorf("%v:\n%s", err, head(log[i:], 200))
			} else {
				t.Errorf("%v; the service's log ends with:\n%s", err, tail(log, 30))
			}
		}
	}
}

func head(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestScenarioFiles checks every scenario without a service: each step calls an operation
// of the document (unless it breaks the contract on purpose), expects a status the document
// lists for it and a code the document knows, and uses only variables saved by an earlier
// step.
func TestScenarioFiles(t *testing.T) {
	t.Parallel()
	scenarios, err := LoadScenarios(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewContract(openapi.JSON())
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, v := range c.Doc.Components.Schemas["Problem"].Value.Properties["code"].Value.Enum {
		codes = append(codes, v.(string))
	}
	for _, sc := range scenarios {
		saved := map[string]bool{}
		for i, st := range sc.Steps {
			where := fmt.Sprintf("%s step %d (%s)", sc.File, i+1, st.Step)
			op, route, ok := c.OperationOf(st)
			switch {
			case strings.HasPrefix(st.Path(), "{{"):
				// A URL saved from a response (a Location header): known only when it runs.
			case !ok && !st.BreaksContract:
				t.Errorf("%s: %s is not an operation of the OpenAPI document", where, st.Request)
			case ok && route.Operation.Responses.Status(st.Expect.Status) == nil:
				t.Errorf("%s: %s does not document status %d", where, op, st.Expect.Status)
			}
			if st.Expect.Code != "" && !slices.Contains(codes, st.Expect.Code) {
				t.Errorf("%s: code %q is not in the document's Problem.code enum", where, st.Expect.Code)
			}
			for _, name := range usedVars(st) {
				if !saved[name] && !builtin(name) {
					t.Errorf("%s: {{%s}} is used before any step saves it", where, name)
				}
			}
			for _, kv := range st.Save {
				saved[kv.Key] = true
			}
		}
	}
}

func builtin(name string) bool {
	switch {
	case name == "unique", name == "today", name == "tomorrow", name == "yesterday":
		return true
	case strings.HasPrefix(name, "today+"), strings.HasPrefix(name, "today-"), strings.HasPrefix(name, "repeat:"):
		return true
	}
	return false
}

// usedVars lists the variable names (before any dot) a step refers to.
func usedVars(st Step) []string {
	var texts []string
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case string:
			texts = append(texts, t)
		case map[string]any:
			for _, e := range t {
				walk(e)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(st.Request)
	walk(st.Token)
	walk(st.Org)
	walk(st.Body)
	if st.RawBody != nil {
		walk(*st.RawBody)
	}
	for _, kv := range append(append(append(Ordered{}, st.Headers...), st.Expect.Headers...), st.Expect.JSON...) {
		walk(kv.Value)
	}
	walk(st.Expect.Body)
	var names []string
	for _, s := range texts {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			if builtin(m[1]) {
				continue
			}
			name, _, _ := strings.Cut(m[1], ".")
			names = append(names, name)
		}
	}
	return names
}
