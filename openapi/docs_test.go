package openapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/openapi"
	"github.com/mini-crm/crm/openapi/openapitest"
	"github.com/mini-crm/crm/platform/web"
)

func newApp() *fiber.App {
	app := web.NewApp(web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	openapi.Mount(app)
	return app
}

func get(t *testing.T, app *fiber.App, path string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

func TestServesTheDocumentWithoutAuthentication(t *testing.T) {
	t.Parallel()
	app := newApp()
	res, body := get(t, app, openapi.JSONPath)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !bytes.Equal(body, openapi.JSON()) {
		t.Fatal("the served document differs from openapi.JSON()")
	}
	etag := res.Header.Get("ETag")
	if res, body := get(t, app, openapi.JSONPath, "If-None-Match", etag); res.StatusCode != 304 || len(body) != 0 {
		t.Fatalf("If-None-Match: status %d, %d bytes", res.StatusCode, len(body))
	}
}

func TestServesThePageAndItsAssets(t *testing.T) {
	t.Parallel()
	app := newApp()
	for _, path := range []string{"/docs", "/docs/"} {
		res, body := get(t, app, path)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: status %d, content type %q", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if !strings.Contains(string(body), "/docs/swagger-ui-bundle.js") || res.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("GET %s: not the reference page, or no CSP", path)
		}
	}
	for _, name := range openapi.Assets() {
		res, plain := get(t, app, "/docs/"+name)
		if res.StatusCode != 200 || len(plain) == 0 {
			t.Fatalf("GET /docs/%s: status %d", name, res.StatusCode)
		}
		res, zipped := get(t, app, "/docs/"+name, "Accept-Encoding", "gzip, deflate")
		if res.Header.Get("Content-Encoding") != "gzip" {
			if strings.HasPrefix(res.Header.Get("Content-Type"), "image/") {
				continue
			}
			t.Fatalf("GET /docs/%s: not gzip-encoded for a client that accepts it", name)
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, _ := io.ReadAll(zr)
		if !bytes.Equal(unzipped, plain) {
			t.Fatalf("GET /docs/%s: the gzip-encoded body differs", name)
		}
		if res, _ := get(t, app, "/docs/"+name, "If-None-Match", res.Header.Get("ETag")); res.StatusCode != 304 {
			t.Fatalf("GET /docs/%s with its ETag: status %d, want 304", name, res.StatusCode)
		}
	}
	for _, path := range []string{"/docs/nope.js", "/docs/index.html", "/docs/LICENSE"} {
		res, body := get(t, app, path)
		var p struct{ Code string }
		_ = json.Unmarshal(body, &p)
		if res.StatusCode != 404 || res.Header.Get("Content-Type") != web.ProblemContentType || p.Code != "route_not_found" {
			t.Fatalf("GET %s: status %d, %s", path, res.StatusCode, body)
		}
	}
}

// The reference page really renders, offline, in a browser: every operation of the document
// is on the page. Chromium comes from Debian's chromium package; without it the test is
// skipped on a developer machine and fails in CI.
func TestReferencePageRendersInChromium(t *testing.T) {
	t.Parallel()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is required in CI (apt-get install -y chromium): %v", err)
		}
		t.Skipf("chromium is not installed (apt-get install -y chromium); the reference page was not rendered")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := newApp()
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=30000", "--dump-dom",
		"http://"+ln.Addr().String()+"/docs")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("chromium did not finish in time; stderr:\n%s", stderr.String())
		}
		t.Fatalf("chromium: %v; stderr:\n%s", err, stderr.String())
	}

	doc, err := openapitest.Parse(openapi.JSON())
	if err != nil {
		t.Fatal(err)
	}
	page := string(dom)
	if !strings.Contains(page, doc.Info.Title) {
		t.Fatalf("the page does not show the API title %q; the DOM starts with:\n%.2000s", doc.Info.Title, page)
	}
	// Swagger UI renders each operation as <div class="opblock opblock-<method>" id="operations-<tag>-<operationId>">.
	rendered := regexp.MustCompile(`id="operations-[^"]+"`).FindAllString(page, -1)
	rendered = slices.DeleteFunc(rendered, func(id string) bool { return strings.HasPrefix(id, `id="operations-tag-`) })
	ops := openapitest.Operations(doc)
	for _, op := range ops {
		o := doc.Paths.Find(op.Path).GetOperation(op.Method)
		// In the id, Swagger UI writes the tag's spaces as underscores.
		id := `id="operations-` + strings.ReplaceAll(o.Tags[0], " ", "_") + "-" + o.OperationID + `"`
		if !strings.Contains(page, id) {
			t.Errorf("%s (%s) is not rendered", op, id)
		}
		if !strings.Contains(page, `opblock-`+strings.ToLower(op.Method)) {
			t.Errorf("no %s operation block is rendered", op.Method)
		}
	}
	if len(rendered) != len(ops) {
		t.Errorf("%d operations rendered, the document has %d", len(rendered), len(ops))
	}
	if strings.Contains(page, "Failed to load API definition") || strings.Contains(page, "Errors") && strings.Contains(page, "Resolver error") {
		t.Errorf("Swagger UI reports an error loading the document")
	}
}
