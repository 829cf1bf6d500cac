package crmclient_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The committed client is exactly what the package's go:generate line makes from the
// current OpenAPI document: a change to openapi/openapi.yaml (or to the generator's version
// or configuration) without `go tool task generate` fails here.
func TestGeneratedClientIsUpToDate(t *testing.T) {
	t.Parallel()
	args := generateArgs(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		unavailable(t, "the go command is not on PATH: %v", err)
	}
	// The generator is a tool of tools/go.mod; building it first tells a generator that cannot
	// be built apart from one that fails on the document.
	build := exec.Command(goBin, "build", "-modfile=../../tools/go.mod", "-o", os.DevNull,
		"github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen")
	if out, err := build.CombinedOutput(); err != nil {
		unavailable(t, "oapi-codegen cannot be built: %v\n%s", err, out)
	}

	out := filepath.Join(t.TempDir(), "client.gen.go")
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			args[i+1] = out
		}
	}
	cmd := exec.Command(goBin, args[1:]...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Fatalf("client.gen.go is stale (first difference: %s); run `go tool task generate`", firstDifference(have, want))
	}
}

// generateArgs reads the go:generate line of doc.go, which must write client.gen.go with -o.
func generateArgs(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(src), "\n") {
		if rest, ok := strings.CutPrefix(line, "//go:generate "); ok {
			args := strings.Fields(rest)
			joined := " " + strings.Join(args, " ") + " "
			if len(args) < 2 || args[0] != "go" || !strings.Contains(joined, " oapi-codegen ") ||
				!strings.Contains(joined, " -o client.gen.go ") {
				t.Fatalf("doc.go: the go:generate line must run oapi-codegen through go with -o client.gen.go: %q", rest)
			}
			return args
		}
	}
	t.Fatal("doc.go has no go:generate line")
	return nil
}

// unavailable skips on a developer machine and fails in CI, where the generator must build.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf("the freshness of client.gen.go was not checked: "+format, args...)
}

func firstDifference(have, want []byte) string {
	h, w := strings.Split(string(have), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(h), len(w)) {
		var a, b string
		if i < len(h) {
			a = h[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d is %q, the generator makes %q", i+1, a, b)
		}
	}
	return "line endings"
}
