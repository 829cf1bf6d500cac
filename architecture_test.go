// Package crm_test holds repository-wide tests: the dependency rules of the modular monolith.
package crm_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const modulePath = "github.com/mini-crm/crm"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

func listPackages(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, patterns...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

// moduleOf returns the module name of a package under modules/, or "".
func moduleOf(importPath string) (name, rest string) {
	after, ok := strings.CutPrefix(importPath, modulePath+"/modules/")
	if !ok {
		return "", ""
	}
	name, rest, _ = strings.Cut(after, "/")
	return name, rest
}

// A module may use another module only through its <name>api package.
func TestModulesImportOnlyFacadesOfOtherModules(t *testing.T) {
	for _, p := range listPackages(t, "./modules/...") {
		self, _ := moduleOf(p.ImportPath)
		for _, imp := range p.Imports {
			other, rest := moduleOf(imp)
			if other == "" || other == self {
				continue
			}
			if rest != other+"api" {
				t.Errorf("%s imports %s: a module may import only %s/modules/%s/%sapi of another module",
					p.ImportPath, imp, modulePath, other, other)
			}
		}
	}
}

// Facade packages carry plain DTOs: only the standard library and platform/apperr.
func TestFacadesImportOnlyStandardLibraryAndApperr(t *testing.T) {
	for _, p := range listPackages(t, "./modules/...") {
		name, rest := moduleOf(p.ImportPath)
		if rest != name+"api" {
			continue
		}
		for _, imp := range p.Imports {
			if !strings.Contains(strings.Split(imp, "/")[0], ".") {
				continue // standard library
			}
			if imp != modulePath+"/platform/apperr" {
				t.Errorf("facade %s imports %s; facades may import only the standard library and platform/apperr", p.ImportPath, imp)
			}
		}
	}
}

// The platform serves the modules and knows none of them.
func TestPlatformImportsNoModule(t *testing.T) {
	for _, p := range listPackages(t, "./platform/...") {
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, modulePath+"/modules/") || strings.HasPrefix(dep, modulePath+"/cmd/") {
				t.Errorf("%s depends on %s: platform must not import modules", p.ImportPath, dep)
			}
		}
	}
}

// The checks above must see the packages they judge, or they would pass vacuously.
func TestArchitectureChecksSeePackages(t *testing.T) {
	mods := map[string]bool{}
	for _, p := range listPackages(t, "./modules/...") {
		n, _ := moduleOf(p.ImportPath)
		mods[n] = true
	}
	for _, want := range []string{"identity", "orgs"} {
		if !mods[want] {
			t.Errorf("module %s not found under ./modules", want)
		}
	}
}
