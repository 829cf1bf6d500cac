package e2e

import (
	"strings"
	"testing"
	"time"
)

// The runner's own machinery, without a service.
func TestMatchers(t *testing.T) {
	t.Parallel()
	doc := normalize(map[string]any{
		"id": 7, "name": "Acme", "amount": "15000.00", "note": nil,
		"items": []any{map[string]any{"id": 1, "type": "system"}, map[string]any{"id": 2, "type": "comment"}},
	})
	cases := []struct {
		path string
		want any
		ok   bool
	}{
		{"id", 7, true},
		{"id", "7", false},
		{"id", map[string]any{"gt": 6, "lte": 7}, true},
		{"id", map[string]any{"type": "integer"}, true},
		{"name", map[string]any{"contains": "cm", "matches": "^A"}, true},
		{"name", map[string]any{"one_of": []any{"X", "Acme"}}, true},
		{"name", map[string]any{"not": "Acme"}, false},
		{"amount", map[string]any{"gte": 15000}, true},
		{"note", nil, true},
		{"note", map[string]any{"exists": true}, true},
		{"missing", map[string]any{"exists": false}, true},
		{"missing", 1, false},
		{"items", map[string]any{"length": 2}, true},
		{"items[1].type", "comment", true},
		{"items.0.type", "system", true},
		{"items", map[string]any{"has_item": map[string]any{"type": "comment", "id": 2}}, true},
		{"items", map[string]any{"has_item": map[string]any{"type": "comment", "id": 1}}, false},
		{"items", map[string]any{"no_item": map[string]any{"type": "stage_changed"}}, true},
		{"items", map[string]any{"every_item": map[string]any{"id": map[string]any{"gt": 0}}}, true},
		{"$", map[string]any{"type": "object"}, true},
		{"items", map[string]any{"has_item": []any{map[string]any{"id": 1}, map[string]any{"id": 2}}}, true},
		{"items", map[string]any{"has_item": []any{map[string]any{"id": 1}, map[string]any{"id": 3}}}, false},
		{"items", map[string]any{"equals": []any{}}, false},
	}
	for _, c := range cases {
		got, present := Resolve(doc, c.path)
		problems := Match(got, present, c.want)
		if (len(problems) == 0) != c.ok {
			t.Errorf("%s %v: problems %v, want ok=%v", c.path, c.want, problems, c.ok)
		}
	}
}

func TestVariables(t *testing.T) {
	t.Parallel()
	v := NewVars("u1", time.Date(2030, 1, 31, 23, 0, 0, 0, time.UTC))
	v.Set("deal", map[string]any{"id": float64(42)})
	v.Set("token", "abc")
	for in, want := range map[string]any{
		"{{deal.id}}":           float64(42),
		"/deals/{{deal.id}}":    "/deals/42",
		"{{unique}}@x":          "u1@x",
		"{{tomorrow}}":          "2030-02-01",
		"{{today-31}}":          "2029-12-31",
		"Bearer {{ token }}":    "Bearer abc",
		"{{repeat:3:ab}}":       "ababab",
		"no placeholders here.": "no placeholders here.",
	} {
		got, err := v.Expand(in)
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := v.Expand("{{nope}}"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("an unknown variable must be an error, got %v", err)
	}
}
