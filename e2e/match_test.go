package e2e

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// operators are the keys of a matcher mapping. A mapping whose keys are all operators is a
// matcher; any other mapping is a value compared for equality.
var operators = map[string]bool{
	"exists": true, "equals": true, "not": true, "one_of": true, "contains": true, "matches": true,
	"length": true, "gt": true, "gte": true, "lt": true, "lte": true, "type": true,
	"has_item": true, "no_item": true, "every_item": true,
}

func isMatcher(want any) (map[string]any, bool) {
	m, ok := want.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, false
	}
	for k := range m {
		if !operators[k] {
			return nil, false
		}
	}
	return m, true
}

// Match checks one actual value (present tells whether it exists at all) against one
// expectation, already expanded, and describes every mismatch.
func Match(got any, present bool, want any) []string {
	m, ok := isMatcher(want)
	if !ok {
		return equal(got, present, want)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var problems []string
	for _, op := range keys {
		problems = append(problems, apply(op, m[op], got, present)...)
	}
	return problems
}

func equal(got any, present bool, want any) []string {
	if !present {
		return []string{fmt.Sprintf("is absent, want %s", show(want))}
	}
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		return []string{fmt.Sprintf("is %s, want %s", show(got), show(want))}
	}
	return nil
}

func apply(op string, arg, got any, present bool) []string {
	if op == "exists" {
		want, _ := arg.(bool)
		switch {
		case want && !present:
			return []string{"is absent, want it present"}
		case !want && present:
			return []string{fmt.Sprintf("is %s, want it absent", show(got))}
		}
		return nil
	}
	if !present {
		return []string{fmt.Sprintf("is absent (%s: %s)", op, show(arg))}
	}
	fail := func(format string, args ...any) []string {
		return []string{fmt.Sprintf("is %s, ", show(got)) + fmt.Sprintf(format, args...)}
	}
	switch op {
	case "equals":
		return equal(got, true, arg)
	case "not":
		if len(Match(got, true, arg)) == 0 {
			return fail("want anything but %s", show(arg))
		}
	case "one_of":
		options, ok := arg.([]any)
		if !ok {
			return []string{"one_of needs a list"}
		}
		for _, o := range options {
			if len(Match(got, true, o)) == 0 {
				return nil
			}
		}
		return fail("want one of %s", show(arg))
	case "contains":
		switch g := got.(type) {
		case string:
			if s, ok := arg.(string); !ok || !strings.Contains(g, s) {
				return fail("want it to contain %s", show(arg))
			}
		case []any:
			if !slices.ContainsFunc(g, func(e any) bool { return len(Match(e, true, arg)) == 0 }) {
				return fail("want an item %s", show(arg))
			}
		default:
			return fail("contains needs a string or a list")
		}
	case "matches":
		re, err := regexp.Compile(fmt.Sprint(arg))
		if err != nil {
			return []string{fmt.Sprintf("bad regular expression %s: %v", show(arg), err)}
		}
		if s, ok := got.(string); !ok || !re.MatchString(s) {
			return fail("want it to match %s", show(arg))
		}
	case "length":
		n, ok := number(arg)
		if !ok {
			return []string{"length needs a number"}
		}
		var l int
		switch g := got.(type) {
		case []any:
			l = len(g)
		case map[string]any:
			l = len(g)
		case string:
			l = len([]rune(g))
		default:
			return fail("want something with a length")
		}
		if float64(l) != n {
			return []string{fmt.Sprintf("has length %d, want %v", l, n)}
		}
	case "gt", "gte", "lt", "lte":
		g, ok1 := number(got)
		w, ok2 := number(arg)
		if !ok1 || !ok2 {
			return fail("want a number %s %s", op, show(arg))
		}
		ok := map[string]bool{"gt": g > w, "gte": g >= w, "lt": g < w, "lte": g <= w}[op]
		if !ok {
			return fail("want %s %s", op, show(arg))
		}
	case "type":
		t := jsonType(got)
		integer := arg == "integer" && t == "number" && isInteger(got)
		if t != arg && !integer {
			return fail("want a %s", arg)
		}
	case "has_item", "no_item", "every_item":
		items, ok := got.([]any)
		if !ok {
			return fail("want a list")
		}
		if list, ok := arg.([]any); ok && op == "has_item" {
			// has_item: [a, b] wants an item like a and an item like b.
			var problems []string
			for _, one := range list {
				problems = append(problems, apply(op, one, got, present)...)
			}
			return problems
		}
		conds, ok := arg.(map[string]any)
		if !ok {
			return []string{op + " needs a mapping of path: expectation"}
		}
		matching := 0
		for _, it := range items {
			if len(matchAll(it, conds)) == 0 {
				matching++
			}
		}
		switch {
		case op == "has_item" && matching == 0:
			return fail("want an item with %s", show(arg))
		case op == "no_item" && matching > 0:
			return fail("want no item with %s", show(arg))
		case op == "every_item" && matching != len(items):
			return fail("want every item with %s", show(arg))
		}
	}
	return nil
}

// matchAll checks a mapping of path: expectation against one value.
func matchAll(doc any, conds map[string]any) []string {
	keys := make([]string, 0, len(conds))
	for k := range conds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var problems []string
	for _, path := range keys {
		got, present := Resolve(doc, path)
		for _, p := range Match(got, present, conds[path]) {
			problems = append(problems, path+" "+p)
		}
	}
	return problems
}

func number(v any) (float64, bool) {
	switch n := normalize(v).(type) {
	case float64:
		return n, true
	case string: // money is a string: "15000.00"
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

func isInteger(v any) bool {
	f, ok := normalize(v).(float64)
	return ok && f == float64(int64(f))
}

func jsonType(v any) string {
	switch normalize(v).(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func show(v any) string {
	s := text(normalize(v))
	if _, ok := v.(string); ok {
		s = strconv.Quote(v.(string))
	}
	if v == nil {
		s = "null"
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
