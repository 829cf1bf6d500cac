package web_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/web"
)

// uploadApp serves an upload route of 4 MiB of text/csv under /api, beside a JSON route.
func uploadApp(t *testing.T) string {
	t.Helper()
	app := web.NewApp(web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: web.NewMetrics()})
	tokens := auth.NewTokens([]byte("test-secret-that-is-at-least-32-bytes-long"), "test", time.Minute, time.Hour)
	r := web.NewRoutes(app.Group("/api"), web.NewGuard(tokens, nil, nil), nil)
	r.Public.Upload("/files", web.Upload{MediaType: "text/csv", Limit: 4 << 20}, func(c *fiber.Ctx) error {
		return c.Status(202).JSON(map[string]int{"bytes": len(c.Body())})
	})
	r.Public.Post("/json", func(c *fiber.Ctx) error { return c.SendStatus(204) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return ln.Addr().String()
}

// headOnly sends a request head announcing length bytes of body and reads the answer.
func headOnly(t *testing.T, addr, path, contentType string, length int) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", path, contentType, length)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

// An upload route takes a body up to its own limit, past BodyLimit; a larger one is refused
// with 413 from its announced length, naming the route's limit; every other route keeps the
// 1 MiB limit; another media type is 415 naming the route's.
func TestUploadRoutesHaveTheirOwnLimitAndMediaType(t *testing.T) {
	t.Parallel()
	addr := uploadApp(t)
	body := bytes.Repeat([]byte("a,b\n"), 3<<20/4) // 3 MiB
	res, err := http.Post("http://"+addr+"/api/files", "text/csv", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 202 || !strings.Contains(string(raw), fmt.Sprintf(`"bytes":%d`, len(body))) {
		t.Fatalf("3 MiB upload: %d %s", res.StatusCode, raw)
	}
	// Trailing slash and case lead to the same route and limit, as the router takes them.
	if st, _ := headOnly(t, addr, "/API/files/", "text/csv", 5<<20); st != 413 {
		t.Errorf("5 MiB to /API/files/: %d", st)
	}
	st, text := headOnly(t, addr, "/api/files?x=1", "text/csv", 5<<20)
	if st != 413 || !strings.Contains(text, "body_too_large") || !strings.Contains(text, "4 MiB") {
		t.Errorf("5 MiB upload: %d %s", st, text)
	}
	if st, text := headOnly(t, addr, "/api/json", "application/json", 2<<20); st != 413 || !strings.Contains(text, "1 MiB") {
		t.Errorf("2 MiB JSON: %d %s", st, text)
	}
	res, err = http.Post("http://"+addr+"/api/files", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 415 || !strings.Contains(string(raw), "text/csv") {
		t.Errorf("JSON to the upload route: %d %s", res.StatusCode, raw)
	}
}

// A chunked body (no announced length) is cut off as soon as it grows past the limit.
func TestChunkedUploadOverTheLimitIs413(t *testing.T) {
	t.Parallel()
	addr := uploadApp(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/files HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n")
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	go func() {
		for range 128 { // 8 MiB, twice the limit
			if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
				return
			}
		}
		fmt.Fprint(conn, "0\r\n\r\n")
	}()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Fatalf("status %d", res.StatusCode)
	}
}
