package crm_test

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string `yaml:"image"`
	Build       any    `yaml:"build"`
	Restart     string `yaml:"restart"`
	DependsOn   any    `yaml:"depends_on"`
	Healthcheck struct {
		Test any `yaml:"test"`
	} `yaml:"healthcheck"`
}

func loadCompose(t *testing.T) (app composeService, dbName string, db composeService) {
	t.Helper()
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	var apps, dbs []string
	for name, s := range f.Services {
		if s.Build != nil {
			apps = append(apps, name)
		}
		if strings.HasPrefix(s.Image, "postgres:") || s.Image == "postgres" {
			dbs = append(dbs, name)
		}
	}
	if len(apps) != 1 || len(dbs) != 1 {
		t.Fatalf("docker-compose.yml: want one service built from this repository and one postgres service, got %v and %v", apps, dbs)
	}
	return f.Services[apps[0]], dbs[0], f.Services[dbs[0]]
}

// healthcheckWords returns the words of a compose healthcheck test.
func healthcheckWords(t *testing.T, test any) []string {
	t.Helper()
	switch v := test.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		var words []string
		for i, w := range v {
			s, _ := w.(string)
			if i == 0 && (s == "CMD" || s == "CMD-SHELL") {
				continue
			}
			words = append(words, strings.Fields(s)...)
		}
		return words
	}
	t.Fatalf("healthcheck test %v is neither a string nor a list", test)
	return nil
}

// The database is healthy only once it accepts TCP connections: during its first start the
// image runs a temporary server on the Unix socket only, which a socket check takes for the
// real one.
func TestComposeDatabaseHealthcheckUsesTCP(t *testing.T) {
	t.Parallel()
	_, _, db := loadCompose(t)
	words := healthcheckWords(t, db.Healthcheck.Test)
	at := -1
	for i, w := range words {
		if w == "pg_isready" || strings.HasSuffix(w, "/pg_isready") {
			at = i
		}
	}
	if at < 0 {
		t.Fatalf("the database healthcheck %q does not run pg_isready", words)
	}
	host := ""
	for i := at + 1; i < len(words); i++ {
		w := words[i]
		switch {
		case (w == "-h" || w == "--host") && i+1 < len(words):
			host = words[i+1]
		case strings.HasPrefix(w, "--host="):
			host = strings.TrimPrefix(w, "--host=")
		case strings.HasPrefix(w, "-h") && len(w) > 2:
			host = w[2:]
		}
	}
	if host == "" || strings.HasPrefix(host, "/") {
		t.Fatalf("the database healthcheck %q checks the Unix socket; give pg_isready -h 127.0.0.1", words)
	}
}

func TestComposeAppRestartsAndWaitsForAHealthyDatabase(t *testing.T) {
	t.Parallel()
	app, dbName, _ := loadCompose(t)
	switch app.Restart {
	case "always", "unless-stopped", "on-failure":
	default:
		t.Errorf("the app's restart policy is %q: an exit while the database is down would leave it down", app.Restart)
	}
	deps, ok := app.DependsOn.(map[string]any)
	if !ok {
		t.Fatalf("the app's depends_on is %v: want %s with condition service_healthy", app.DependsOn, dbName)
	}
	dep, _ := deps[dbName].(map[string]any)
	if dep["condition"] != "service_healthy" {
		t.Fatalf("the app depends on %s with %v, want condition service_healthy", dbName, deps[dbName])
	}
}

var (
	goLine   = regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`)
	toolLine = regexp.MustCompile(`(?m)^toolchain\s+go(\S+)\s*$`)
	fromLine = regexp.MustCompile(`^FROM\s+(?:--\S+\s+)*(\S+)`)
)

// The image builds with the Go release go.mod names, to the patch version, so that the
// binary in the image is the one tested.
func TestDockerfilePinsTheGoVersionOfGoMod(t *testing.T) {
	t.Parallel()
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	if m := goLine.FindSubmatch(mod); m != nil {
		want = string(m[1])
	}
	if m := toolLine.FindSubmatch(mod); m != nil {
		want = string(m[1])
	}
	if strings.Count(want, ".") != 2 {
		t.Fatalf("go.mod names Go %q, want a patch version such as 1.26.8", want)
	}
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var images []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := fromLine.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
			if name, tag, _ := strings.Cut(m[1], ":"); name == "golang" || strings.HasSuffix(name, "/golang") {
				images = append(images, tag)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(images) == 0 {
		t.Fatal("the Dockerfile builds from no golang image")
	}
	for _, tag := range images {
		if tag != want && !strings.HasPrefix(tag, want+"-") {
			t.Errorf("the Dockerfile builds with golang:%s, go.mod names Go %s", tag, want)
		}
	}
}
