package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is one user story: a file of e2e/scenarios.
type Scenario struct {
	File  string `yaml:"-"`
	Title string `yaml:"title"`
	Story string `yaml:"story"`
	Steps []Step `yaml:"steps"`
}

// Step is one request of a story and what must come back.
type Step struct {
	Step           string  `yaml:"step"`
	Request        string  `yaml:"request"` // "METHOD /path?query"
	Token          string  `yaml:"token"`
	Org            any     `yaml:"org"`
	Headers        Ordered `yaml:"headers"`
	Body           any     `yaml:"body"`
	RawBody        *string `yaml:"raw_body"`
	ContentType    string  `yaml:"content_type"`
	BreaksContract bool    `yaml:"breaks_contract"`
	KnownIssue     string  `yaml:"known_issue"`
	// RetryFor (a GET only) sends the step again every 100 ms until its expectations pass or
	// this much time has gone by: for what the service does in the background (an import).
	RetryFor string  `yaml:"retry_for"`
	Expect   Expect  `yaml:"expect"`
	Save     Ordered `yaml:"save"`
}

// Expect is what a response must be.
type Expect struct {
	Status  int     `yaml:"status"`
	Code    string  `yaml:"code"`
	Headers Ordered `yaml:"headers"`
	JSON    Ordered `yaml:"json"`
	// Body is an expectation on the whole body as text, for answers that are not JSON (an
	// export): a value or checks, as for json.
	Body any `yaml:"body"`
}

// Ordered is a YAML mapping that keeps the order of its keys, so that failures are reported
// in the order the scenario lists them.
type Ordered []KV

// KV is one entry of an Ordered mapping.
type KV struct {
	Key   string
	Value any
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (o *Ordered) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected a mapping of name: value", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v any
		if err := n.Content[i+1].Decode(&v); err != nil {
			return err
		}
		*o = append(*o, KV{Key: n.Content[i].Value, Value: v})
	}
	return nil
}

var requestLine = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/\S*|\{\{\S+)$`)

// LoadScenarios reads every *.yaml file of dir, strictly: an unknown key is an error, so a
// typo cannot silently turn an expectation off.
func LoadScenarios(dir string) ([]*Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no scenario files in %s", dir)
	}
	slices.Sort(files)
	var out []*Scenario
	var errs []error
	for _, f := range files {
		s, err := LoadScenario(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

// LoadScenario reads and checks one scenario file.
func LoadScenario(file string) (*Scenario, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	s.File = filepath.Base(file)
	if s.Title == "" || len(s.Steps) == 0 {
		return nil, fmt.Errorf("%s: a scenario needs a title and steps", file)
	}
	for i, st := range s.Steps {
		where := fmt.Sprintf("%s: step %d (%q)", file, i+1, st.Step)
		switch {
		case st.Step == "":
			return nil, fmt.Errorf("%s: every step needs a `step:` sentence saying what happens", where)
		case !requestLine.MatchString(st.Request):
			return nil, fmt.Errorf("%s: request must be \"METHOD /path\" (or \"METHOD {{saved_url}}\"), got %q", where, st.Request)
		case st.Expect.Status < 100 || st.Expect.Status > 599:
			return nil, fmt.Errorf("%s: expect.status is required", where)
		case st.Body != nil && st.RawBody != nil:
			return nil, fmt.Errorf("%s: give body or raw_body, not both", where)
		case st.KnownIssue != "" && len(st.Save) > 0:
			return nil, fmt.Errorf("%s: a known_issue step may fail, so it cannot save values for later steps", where)
		case st.RetryFor != "" && st.Method() != "GET":
			return nil, fmt.Errorf("%s: only a GET may be sent again (retry_for)", where)
		}
		if st.RetryFor != "" {
			if d, err := time.ParseDuration(st.RetryFor); err != nil || d <= 0 || d > 2*time.Minute {
				return nil, fmt.Errorf("%s: retry_for must be a duration up to 2m, such as 30s", where)
			}
		}
		for _, kv := range st.Save {
			if v, ok := kv.Value.(string); !ok || v == "" {
				return nil, fmt.Errorf("%s: save %s: give a JSON path or header:Name", where, kv.Key)
			}
		}
	}
	return &s, nil
}

// Method and Path split the request line.
func (st Step) Method() string { m, _, _ := strings.Cut(st.Request, " "); return m }
func (st Step) Path() string   { _, p, _ := strings.Cut(st.Request, " "); return p }

// Vars holds the values saved by earlier steps of one scenario, plus the built-in ones.
type Vars struct {
	saved  map[string]any
	unique string
	today  time.Time
}

// NewVars returns the variables of a scenario run; unique tells this run's data apart.
func NewVars(unique string, now time.Time) *Vars {
	y, m, d := now.UTC().Date()
	return &Vars{saved: map[string]any{}, unique: unique, today: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// Set saves a value for later steps.
func (v *Vars) Set(name string, value any) { v.saved[name] = value }

var placeholder = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// lookup resolves one variable:
//
//	unique                     a string unique to this run of the scenario
//	today, tomorrow, yesterday today's UTC date and its neighbours, YYYY-MM-DD
//	today+N, today-N           the UTC date N days from today
//	repeat:N:text              text repeated N times
//	name, name.path            a value saved by an earlier step (and a part of it)
func (v *Vars) lookup(expr string) (any, error) {
	switch expr {
	case "unique":
		return v.unique, nil
	case "today":
		return v.today.Format(time.DateOnly), nil
	case "tomorrow":
		return v.today.AddDate(0, 0, 1).Format(time.DateOnly), nil
	case "yesterday":
		return v.today.AddDate(0, 0, -1).Format(time.DateOnly), nil
	}
	if rest, ok := strings.CutPrefix(expr, "today"); ok && len(rest) > 1 && (rest[0] == '+' || rest[0] == '-') {
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, fmt.Errorf("{{%s}}: want today+N or today-N", expr)
		}
		return v.today.AddDate(0, 0, n).Format(time.DateOnly), nil
	}
	if rest, ok := strings.CutPrefix(expr, "repeat:"); ok {
		ns, text, ok := strings.Cut(rest, ":")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil || n < 0 || n > 10<<20 {
			return nil, fmt.Errorf("{{%s}}: want repeat:N:text", expr)
		}
		return strings.Repeat(text, n), nil
	}
	name, path, _ := strings.Cut(expr, ".")
	val, ok := v.saved[name]
	if !ok {
		return nil, fmt.Errorf("{{%s}}: no step saved %q before this one", expr, name)
	}
	if path != "" {
		if val, ok = Resolve(val, path); !ok {
			return nil, fmt.Errorf("{{%s}}: the saved value has no %s", expr, path)
		}
	}
	return val, nil
}

// Expand replaces the {{variables}} of s. A string that is exactly one placeholder takes
// the variable's own JSON type (a saved id stays a number); otherwise values are spliced
// into the text.
func (v *Vars) Expand(s string) (any, error) {
	if m := placeholder.FindStringSubmatchIndex(s); m != nil && m[0] == 0 && m[1] == len(s) {
		return v.lookup(s[m[2]:m[3]])
	}
	var firstErr error
	out := placeholder.ReplaceAllStringFunc(s, func(ph string) string {
		val, err := v.lookup(placeholder.FindStringSubmatch(ph)[1])
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return ph
		}
		return text(val)
	})
	return out, firstErr
}

// ExpandString is Expand for places that need text (paths, headers).
func (v *Vars) ExpandString(s string) (string, error) {
	val, err := v.Expand(s)
	return text(val), err
}

// ExpandAll expands every string inside a YAML value (maps, lists, scalars).
func (v *Vars) ExpandAll(x any) (any, error) {
	switch t := x.(type) {
	case string:
		return v.Expand(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			ev, err := v.ExpandAll(e)
			if err != nil {
				return nil, err
			}
			out[k] = ev
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			ev, err := v.ExpandAll(e)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	}
	return x, nil
}

func text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Resolve finds path in a decoded JSON value. Paths are dotted; list items are numbered from
// 0 (items.0.id, or items[0].id); "$" is the whole value.
func Resolve(doc any, path string) (any, bool) {
	if path == "$" || path == "" {
		return doc, true
	}
	path = strings.NewReplacer("[", ".", "]", "").Replace(strings.TrimPrefix(path, "$."))
	cur := doc
	for _, seg := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// normalize turns a YAML or Go value into what encoding/json would decode from its JSON, so
// that expected and actual values compare alike (every number a float64, every map a
// map[string]any).
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}
