// Package crm_test holds repository-wide tests: the dependency rules of the modular monolith.
package crm_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// createTable finds the tables a migration creates.
var createTable = regexp.MustCompile(`\bCREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?([a-z_][a-z0-9_]*)`)

// tableOwners maps every table to the module whose migrations create it.
func tableOwners(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("modules/*/migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]string{}
	for _, f := range files {
		mod := strings.Split(filepath.ToSlash(f), "/")[1]
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range createTable.FindAllStringSubmatch(stripSQLComments(string(b)), -1) {
			if prev, ok := owners[m[1]]; ok && prev != mod {
				t.Errorf("table %s is created by both %s and %s", m[1], prev, mod)
			}
			owners[m[1]] = mod
		}
	}
	return owners
}

var sqlLineComment = regexp.MustCompile(`--[^\n]*`)

func stripSQLComments(s string) string { return sqlLineComment.ReplaceAllString(s, "") }

// tableRef finds where SQL names a table it reads, writes or alters: after FROM, JOIN, INTO,
// UPDATE, TABLE, TRUNCATE, COPY, ON (policies, indexes, triggers) and LOCK. A name followed
// at once by "(" is a function call, which is how a module offers its data to the SQL of others;
// REFERENCES (a foreign key) is not a use of the table's rows by the module declaring it.
var tableRef = regexp.MustCompile(`\b(?:FROM|JOIN|INTO|UPDATE|TABLE|TRUNCATE|COPY|ON|LOCK)\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?"?([a-z_][a-z0-9_]*)"?(\()?`)

// sqlTables returns the tables the SQL text names, functions left out.
func sqlTables(sql string) []string {
	var out []string
	for _, m := range tableRef.FindAllStringSubmatch(stripSQLComments(sql), -1) {
		if m[2] == "" {
			out = append(out, m[1])
		}
	}
	return out
}

// builderTables are the query builder's methods whose first argument names a table.
var builderTables = map[string]bool{"From": true, "Insert": true, "Update": true, "Delete": true, "Into": true,
	"Join": true, "LeftJoin": true, "RightJoin": true, "InnerJoin": true, "CrossJoin": true, "Table": true}

var leadingName = regexp.MustCompile(`^\s*"?([a-z_][a-z0-9_]*)"?(?:\s|$)`)

// goTables returns the tables a Go file names in SQL: in its string constants, and as the
// first argument of a query builder call such as From("deals").
func goTables(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if v, err := strconv.Unquote(n.Value); err == nil {
					out = append(out, sqlTables(v)...)
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || !builderTables[sel.Sel.Name] || len(n.Args) == 0 {
				break
			}
			if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				if m := leadingName.FindStringSubmatch(v); m != nil {
					out = append(out, m[1])
				}
			}
		}
		return true
	})
	return out
}

// appliedMigrations are migrations that ran in production before the rule below existed and
// must keep producing the schema they produced, with the tables of other modules they
// name: the deals migration gives the timeline's activities their foreign key to deals (the
// timeline depends on no module, so the tie was made from the deals side).
var appliedMigrations = map[string][]string{
	"modules/deals/migrations/20261127100400_deals_deals.sql": {"activities"},
}

// Each table is read and written only by the module that creates it. Other modules reach
// its data through the owner's facade, an event, or an SQL function the owner creates in
// its migrations (deals_pipeline_totals, organization_ids). Every non-test Go file and
// every migration of a module is searched for the tables of other modules, and those of
// the platform for the tables of any module.
func TestTablesAreUsedOnlyByTheirModule(t *testing.T) {
	t.Parallel()
	owners := tableOwners(t)
	for _, want := range []string{"users", "organizations", "organization_members", "contacts", "deals",
		"activities", "tasks", "analytics_deal_totals"} {
		if owners[want] == "" {
			t.Fatalf("table %s has no owner among %v: the check would pass vacuously", want, owners)
		}
	}
	var files []string
	for _, root := range []string{"modules", "platform"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if (strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go")) || strings.HasSuffix(path, ".sql") {
				files = append(files, filepath.ToSlash(path))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	refs := 0
	listed := map[string]bool{}
	for _, f := range files {
		mod := "platform" // knows no module, so owns none of their tables
		if after, ok := strings.CutPrefix(f, "modules/"); ok {
			mod, _, _ = strings.Cut(after, "/")
		}
		var tables []string
		if strings.HasSuffix(f, ".go") {
			tables = goTables(t, f)
		} else {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tables = sqlTables(string(b))
		}
		for _, tbl := range tables {
			owner, ok := owners[tbl]
			if !ok {
				continue // not a table of a module (a platform table, a column, a keyword)
			}
			refs++
			if owner == mod {
				continue
			}
			if slices.Contains(appliedMigrations[f], tbl) {
				listed[f+" "+tbl] = true
				continue
			}
			t.Errorf("%s (module %s) uses table %s of module %s: go through its facade, an event or an SQL function it owns",
				f, mod, tbl, owner)
		}
	}
	if refs < 50 {
		t.Fatalf("only %d table references found: the check would pass vacuously", refs)
	}
	for f, tables := range appliedMigrations {
		for _, tbl := range tables {
			if !listed[f+" "+tbl] {
				t.Errorf("%s is listed as using table %s, and does not: remove it from appliedMigrations", f, tbl)
			}
		}
	}
}

// The search finds tables where SQL uses them and leaves function calls and foreign keys.
func TestTableSearchFindsUsesAndLeavesFunctions(t *testing.T) {
	t.Parallel()
	got := sqlTables(`SELECT a FROM deals d JOIN contacts c ON c.id = d.contact_id; -- FROM tasks
		INSERT INTO analytics_deal_totals (x) SELECT * FROM deals_pipeline_totals(org);
		UPDATE users SET x = 1; DELETE FROM ONLY activities; ALTER TABLE IF EXISTS orgs ADD
		CONSTRAINT f FOREIGN KEY (x) REFERENCES organizations (id) ON DELETE CASCADE;
		CREATE POLICY p ON tasks; FOR org IN SELECT id FROM organization_ids() AS id LOOP`)
	for _, want := range []string{"deals", "contacts", "analytics_deal_totals", "users", "activities", "orgs", "tasks"} {
		if !slices.Contains(got, want) {
			t.Errorf("sqlTables = %v, lacks %s", got, want)
		}
	}
	for _, not := range []string{"deals_pipeline_totals", "organization_ids", "organizations", "id"} {
		if slices.Contains(got, not) {
			t.Errorf("sqlTables = %v, holds %s", got, not)
		}
	}
}
