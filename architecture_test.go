// Package crm_test holds repository-wide tests: the dependency rules of the modular monolith.
package crm_test

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
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

// facadeImports are the platform packages a facade may use: errors and the shared value
// types of the contract (lists, money), nothing with behaviour of its own.
var facadeImports = map[string]bool{
	modulePath + "/platform/apperr":  true,
	modulePath + "/platform/listing": true,
	modulePath + "/platform/money":   true,
}

// Facade packages carry plain DTOs: only the standard library and the contract's value types.
func TestFacadesImportOnlyStandardLibraryAndValueTypes(t *testing.T) {
	for _, p := range listPackages(t, "./modules/...") {
		name, rest := moduleOf(p.ImportPath)
		if rest != name+"api" {
			continue
		}
		for _, imp := range p.Imports {
			if !strings.Contains(strings.Split(imp, "/")[0], ".") {
				continue // standard library
			}
			if !facadeImports[imp] {
				t.Errorf("facade %s imports %s; facades may import only the standard library and %v", p.ImportPath, imp, facadeImports)
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

// transport are the packages of HTTP: only the web layer, handlers and module wiring use them.
var transport = []string{"github.com/gofiber/", "github.com/valyala/fasthttp", modulePath + "/platform/web"}

func isTransport(importPath string) bool {
	for _, t := range transport {
		if importPath == strings.TrimSuffix(t, "/") || strings.HasPrefix(importPath, t) {
			return true
		}
	}
	return false
}

// The domain side of the platform knows nothing of HTTP: what services and stores build on
// (access checks, the database, errors, events, money) compiles without fiber.
func TestDomainPlatformIsTransportFree(t *testing.T) {
	for _, p := range listPackages(t, "./platform/auth", "./platform/database", "./platform/apperr", "./platform/kernel", "./platform/money", "./platform/listing", "./platform/patch") {
		for _, dep := range p.Deps {
			if isTransport(dep) {
				t.Errorf("%s depends on %s: the domain platform must not pull in HTTP", p.ImportPath, dep)
			}
		}
	}
}

// A module's use cases, storage and rules speak domain types: its service, store and rules
// files import neither fiber nor the web package (handlers translate between the two). The
// files are parsed one by one, since a Go package mixes handler and service files.
func TestModuleCoreFilesImportNoTransport(t *testing.T) {
	files, err := filepath.Glob("modules/*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, "_test.go") {
			continue
		}
		kind := strings.TrimSuffix(base, ".go")
		if kind != "service" && kind != "store" && kind != "rules" {
			continue
		}
		checked++
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if isTransport(path) {
				t.Errorf("%s imports %s: services, stores and rules must not know HTTP", f, path)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d service/store/rules files found: the check would pass vacuously", checked)
	}
}
