package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/web"
)

type createThing struct {
	Name  string  `json:"name" trim:"true" validate:"required,notblank,max=5"`
	Count int     `json:"count" validate:"gte=0"`
	Tag   *string `json:"tag" validate:"omitnil,oneof=a b"`
}

func newApp(t *testing.T) *fiber.App {
	t.Helper()
	app := web.NewApp(web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: web.NewMetrics()})
	app.Post("/things", func(c *fiber.Ctx) error {
		var in createThing
		if err := web.Bind(c, &in); err != nil {
			return err
		}
		return c.Status(201).JSON(in)
	})
	app.Get("/things", func(c *fiber.Ctx) error {
		p, err := web.PageFrom(c)
		if err != nil {
			return err
		}
		return c.JSON(web.NewList([]int{}, p, nil, nil))
	})
	app.Get("/boom", func(*fiber.Ctx) error { panic("secret internals") })
	app.Get("/sql", func(*fiber.Ctx) error { return errors.New(`pq: relation "users" does not exist`) })
	app.Get("/kind/:k", func(c *fiber.Ctx) error {
		kinds := map[string]apperr.Kind{"401": apperr.KindUnauthenticated, "403": apperr.KindForbidden,
			"404": apperr.KindNotFound, "409": apperr.KindConflict, "412": apperr.KindPreconditionFailed,
			"422": apperr.KindUnprocessable, "429": apperr.KindTooManyRequests, "503": apperr.KindUnavailable}
		return apperr.New(kinds[c.Params("k")], "some_code", "some detail")
	})
	return app
}

func do(t *testing.T, app *fiber.App, method, path, ctype, body string) (*http.Response, web.Problem) {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("X-Request-Id", "req-123")
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var p web.Problem
	if res.StatusCode >= 400 {
		if ct := res.Header.Get("Content-Type"); ct != web.ProblemContentType {
			t.Fatalf("%s %s: content type %q, body %s", method, path, ct, raw)
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("problem body %s: %v", raw, err)
		}
		if p.Status != res.StatusCode || p.Type != "about:blank" || p.Title == "" || p.Code == "" || p.Detail == "" || p.RequestID != "req-123" {
			t.Fatalf("incomplete problem %+v for status %d", p, res.StatusCode)
		}
	}
	if res.Header.Get("X-Request-Id") != "req-123" {
		t.Fatalf("request id not echoed: %q", res.Header.Get("X-Request-Id"))
	}
	return res, p
}

func TestBindAndValidation(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	cases := []struct {
		name, ctype, body string
		status            int
		code, field       string
	}{
		{"ok", "application/json", `{"name":"  ab "}`, 201, "", ""},
		{"charset ok", "application/json; charset=utf-8", `{"name":"ab"}`, 201, "", ""},
		{"wrong type", "text/plain", `{"name":"ab"}`, 415, "unsupported_media_type", ""},
		{"no type", "", `{"name":"ab"}`, 415, "unsupported_media_type", ""},
		{"empty", "application/json", ``, 400, "malformed_json", ""},
		{"syntax", "application/json", `{"name":`, 400, "malformed_json", ""},
		{"trailing", "application/json", `{"name":"ab"} {}`, 400, "malformed_json", ""},
		{"not object", "application/json", `[1]`, 400, "malformed_json", ""},
		{"unknown field", "application/json", `{"name":"ab","id":5}`, 400, "unknown_field", "id"},
		{"type mismatch", "application/json", `{"name":"ab","count":"x"}`, 400, "validation_failed", "count"},
		{"required", "application/json", `{}`, 400, "validation_failed", "name"},
		{"blank", "application/json", `{"name":"   "}`, 400, "validation_failed", "name"},
		{"too long", "application/json", `{"name":"abcdef"}`, 400, "validation_failed", "name"},
		{"oneof", "application/json", `{"name":"ab","tag":"c"}`, 400, "validation_failed", "tag"},
		{"min", "application/json", `{"name":"ab","count":-1}`, 400, "validation_failed", "count"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, p := do(t, app, "POST", "/things", tc.ctype, tc.body)
			if res.StatusCode != tc.status || p.Code != tc.code {
				t.Fatalf("status %d code %q, want %d %q (%+v)", res.StatusCode, p.Code, tc.status, tc.code, p)
			}
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field || !strings.Contains(p.Detail, tc.field)) {
				t.Fatalf("field errors %+v / detail %q do not name %q", p.Errors, p.Detail, tc.field)
			}
		})
	}
}

func TestFrameworkErrorsAreProblems(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	res, p := do(t, app, "GET", "/nowhere", "", "")
	if res.StatusCode != 404 || p.Code != "route_not_found" {
		t.Fatalf("unknown route: %d %+v", res.StatusCode, p)
	}
	res, p = do(t, app, "DELETE", "/things", "", "")
	if res.StatusCode != 405 || p.Code != "method_not_allowed" || !strings.Contains(res.Header.Get("Allow"), "GET") {
		t.Fatalf("wrong method: %d %+v allow=%q", res.StatusCode, p, res.Header.Get("Allow"))
	}
	res, _ = do(t, app, "POST", "/things/", "application/json", `{"name":"a"}`)
	if res.StatusCode != 201 {
		t.Fatalf("trailing slash: %d", res.StatusCode)
	}
	res, p = do(t, app, "GET", "/boom", "", "")
	if res.StatusCode != 500 || p.Code != "internal_error" || strings.Contains(p.Detail, "secret") {
		t.Fatalf("panic: %d %+v", res.StatusCode, p)
	}
	res, p = do(t, app, "GET", "/sql", "", "")
	if res.StatusCode != 500 || strings.Contains(p.Detail, "relation") {
		t.Fatalf("internal error leaked: %d %+v", res.StatusCode, p)
	}
}

func TestKindsMapToStatusesAndHeaders(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	for _, code := range []int{401, 403, 404, 409, 412, 422, 429, 503} {
		res, p := do(t, app, "GET", fmt.Sprintf("/kind/%d", code), "", "")
		if res.StatusCode != code || p.Code != "some_code" || p.Detail != "some detail" {
			t.Fatalf("kind %d: %d %+v", code, res.StatusCode, p)
		}
		switch code {
		case 401:
			if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatal("401 without WWW-Authenticate: Bearer")
			}
		case 429, 503:
			if res.Header.Get("Retry-After") == "" {
				t.Fatalf("%d without Retry-After", code)
			}
		}
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	for _, q := range []string{"page=0", "page=x", "page_size=0", "page_size=101", "page_size=-5"} {
		res, p := do(t, app, "GET", "/things?"+q, "", "")
		if res.StatusCode != 400 || p.Code != "invalid_query" {
			t.Fatalf("%s: %d %+v", q, res.StatusCode, p)
		}
	}
	req := httptest.NewRequestWithContext(context.Background(), "GET", "/things?page=3&page_size=100", nil)
	res, _ := app.Test(req, -1)
	var l web.List[int]
	_ = json.NewDecoder(res.Body).Decode(&l)
	res.Body.Close()
	if l.Page == nil || *l.Page != 3 || l.PageSize != 100 || l.Items == nil {
		t.Fatalf("list %+v", l)
	}
}

// The body limit is enforced by the server while reading, so it is tested over real HTTP.
func TestBodyOverLimitIs413(t *testing.T) {
	t.Parallel()
	// The client announces 2 MiB: the server must answer from the announced length, without
	// reading (or buffering) the body.
	conn := dialServed(t, newApp(t))
	// Only the head is sent: unread body bytes would make the server's close a reset, which
	// can discard its answer before the client reads it.
	fmt.Fprintf(conn, "POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 2<<20)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 413 || res.Header.Get("Content-Type") != web.ProblemContentType || !bytes.Contains(raw, []byte("body_too_large")) ||
		res.Header.Get("X-Request-Id") == "" || !bytes.Contains(raw, []byte(`"request_id":"`+res.Header.Get("X-Request-Id")+`"`)) {
		t.Fatalf("status %d type %q body %s", res.StatusCode, res.Header.Get("Content-Type"), raw)
	}
}

// Field errors found by hand are reported with the tag errors in one 400, and alone when the
// tags pass.
func TestValidateWithExtraFields(t *testing.T) {
	t.Parallel()
	phone := apperr.FieldError{Field: "phone", Message: "is not a phone number"}
	err := web.Validate(&createThing{}, phone)
	ae, ok := apperr.As(err)
	if !ok || ae.Code != "validation_failed" || len(ae.Fields) != 2 || ae.Fields[0].Field != "name" || ae.Fields[1] != phone ||
		!strings.Contains(ae.Detail, "and 1 more") {
		t.Fatalf("both: %v", err)
	}
	err = web.Validate(&createThing{Name: "ok"}, phone)
	if ae, ok := apperr.As(err); !ok || len(ae.Fields) != 1 || ae.Detail != "phone is not a phone number" {
		t.Fatalf("extra only: %v", err)
	}
	if err := web.Validate(&createThing{Name: "ok"}); err != nil {
		t.Fatalf("valid: %v", err)
	}
}

// dialServed serves app on a loopback port until the test ends and returns a connection to it.
func dialServed(t *testing.T, app *fiber.App) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
