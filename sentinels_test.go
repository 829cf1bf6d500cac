package crm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sentinel is an exported package-level Err… variable of the module.
type sentinel struct {
	Dir  string // package directory, relative to the module root, slash-separated
	Name string
}

func (s sentinel) String() string { return s.Dir + "." + s.Name }

// findSentinels parses every package of the module (nested modules, testdata and test files
// excluded) and returns its exported package-level variables named Err….
func findSentinels(t *testing.T) []sentinel {
	t.Helper()
	var found []sentinel
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); path != "." && err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.Dir(path)
		if ok, err := build.Default.MatchFile(dir, d.Name()); err != nil || !ok {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if !n.IsExported() || !strings.HasPrefix(n.Name, "Err") {
						continue
					}
					if f.Name.Name == "main" {
						t.Errorf("%s: sentinel %s is declared in a main package, where no test can reach it", fset.Position(n.Pos()), n.Name)
						continue
					}
					found = append(found, sentinel{Dir: filepath.ToSlash(dir), Name: n.Name})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// probeResult is what the probe program reports about one sentinel: the indexes of the
// sentinels that errors.Is matches with it and with each error derived from it.
type probeResult struct {
	Apperr  bool
	Nil     bool
	Code    string
	Kind    int
	Is      []int
	Derived map[string][]int
	Kept    map[string]bool // the derived error keeps the sentinel's kind and code
}

// probeSource is a program that imports every package declaring sentinels and reports, as
// JSON, how errors.Is relates them.
const probeSource = `package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
%s)

var sentinels = []error{
%s}

type result struct {
	Apperr  bool
	Nil     bool
	Code    string
	Kind    int
	Is      []int
	Derived map[string][]int
	Kept    map[string]bool
}

func matches(err error) []int {
	out := []int{}
	for j, s := range sentinels {
		if errors.Is(err, s) {
			out = append(out, j)
		}
	}
	return out
}

func main() {
	cause := errors.New("cause")
	out := make([]result, len(sentinels))
	for i, s := range sentinels {
		r := result{Is: matches(s), Derived: map[string][]int{}, Kept: map[string]bool{}}
		derived := map[string]error{"fmt.Errorf %%w": fmt.Errorf("context: %%w", s)}
		ae, ok := s.(*apperr.Error)
		r.Apperr, r.Nil = ok, s == nil || (ok && ae == nil)
		if ok && ae != nil {
			r.Code, r.Kind = ae.Code, int(ae.Kind)
			derived["WithDetail"] = ae.WithDetail("another sentence")
			derived["Wrap"] = ae.Wrap(cause)
			derived["After"] = ae.After(time.Second)
			derived["WithDetail then Wrap"] = ae.WithDetail("another sentence").Wrap(cause)
		}
		for name, d := range derived {
			r.Derived[name] = matches(d)
			if ok && ae != nil {
				got, found := apperr.As(d)
				r.Kept[name] = found && got.Code == ae.Code && got.Kind == ae.Kind
			}
		}
		out[i] = r
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
`

// runProbe builds the probe for sentinels in a directory that exists only in a build
// overlay, so nothing is written into the tree, and returns its report.
func runProbe(t *testing.T, sentinels []sentinel) []probeResult {
	t.Helper()
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	alias := map[string]string{}
	var imports, values strings.Builder
	for _, s := range sentinels {
		a, ok := alias[s.Dir]
		if !ok {
			a = fmt.Sprintf("p%d", len(alias))
			alias[s.Dir] = a
			fmt.Fprintf(&imports, "\t%s %q\n", a, modulePath+"/"+s.Dir)
		}
		fmt.Fprintf(&values, "\t%s.%s,\n", a, s.Name)
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(src, fmt.Appendf(nil, probeSource, imports.String(), values.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(root, "_sentinelprobe", "main.go"): src},
	})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("go", "run", "-overlay", overlayFile, "./_sentinelprobe")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the sentinel probe failed: %v\n%s", err, stderr.String())
	}
	var results []probeResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("probe output: %v\n%s", err, stdout.String())
	}
	if len(results) != len(sentinels) {
		t.Fatalf("probe reported %d sentinels, want %d", len(results), len(sentinels))
	}
	return results
}

// Every exported sentinel error of the module is an error of its own: errors.Is matches it
// with itself and with what is derived from it, never with another sentinel, and two
// application errors never share a code (a code means one thing; one meaning is one
// sentinel, declared once).
func TestSentinelErrorsAreDistinct(t *testing.T) {
	t.Parallel()
	sentinels := findSentinels(t)
	if len(sentinels) < 30 {
		t.Fatalf("found only %d sentinels; the search does not see the packages: %v", len(sentinels), sentinels)
	}
	t.Logf("%d sentinels: %v", len(sentinels), sentinels)
	results := runProbe(t, sentinels)
	names := func(idx []int) []string {
		out := []string{}
		for _, j := range idx {
			out = append(out, sentinels[j].String())
		}
		return out
	}
	byCode := map[string][]string{}
	for i, r := range results {
		s := sentinels[i].String()
		if r.Nil {
			t.Errorf("%s is nil", s)
			continue
		}
		if r.Apperr {
			byCode[r.Code] = append(byCode[r.Code], s)
		}
		if !slices.Equal(r.Is, []int{i}) {
			t.Errorf("errors.Is(%s, …) matches %v; want only itself", s, names(r.Is))
			continue
		}
		derivations := []string{"fmt.Errorf %w"}
		if r.Apperr {
			derivations = append(derivations, "WithDetail", "Wrap", "After", "WithDetail then Wrap")
		}
		for _, d := range derivations {
			if got := r.Derived[d]; !slices.Equal(got, []int{i}) {
				t.Errorf("%s derived by %s matches %v; want only %s", s, d, names(got), s)
			}
			if r.Apperr && !r.Kept[d] {
				t.Errorf("%s derived by %s lost its kind or code", s, d)
			}
		}
	}
	for _, code := range slices.Sorted(maps.Keys(byCode)) {
		if owners := byCode[code]; len(owners) > 1 {
			t.Errorf("code %q is shared by %v: give distinct meanings distinct codes, or declare one sentinel and reuse it",
				code, owners)
		}
	}
}
