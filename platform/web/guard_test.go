package web_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/web"
)

var tokenSecret = []byte("0123456789abcdef0123456789abcdef")

type memberships map[[2]int64]auth.Role

func (m memberships) RoleOf(_ context.Context, org, user int64) (auth.Role, error) {
	if r, ok := m[[2]int64{org, user}]; ok {
		return r, nil
	}
	return "", auth.ErrNotMember
}

// accounts are the users that exist; every other user id stands for a deleted account.
type accounts map[int64]bool

func (a accounts) UserExists(_ context.Context, id int64) (bool, error) { return a[id], nil }

func newGuardedApp(t *testing.T) (*fiber.App, *auth.Tokens) {
	t.Helper()
	tokens := auth.NewTokens(tokenSecret, "mini-crm", time.Minute, time.Hour)
	g := web.NewGuard(tokens, memberships{{7, 1}: auth.RoleManager}, accounts{1: true, 2: true})
	app := web.NewApp(web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	app.Get("/me", g.SignedIn(), func(c *fiber.Ctx) error {
		p, err := auth.Caller(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"user": p.UserID})
	})
	app.Get("/tenant", g.Tenant(), func(c *fiber.Ctx) error {
		p, _ := auth.TenantCaller(c.UserContext())
		return c.JSON(fiber.Map{"org": p.OrgID, "role": p.Role})
	})
	return app, tokens
}

func callGuarded(t *testing.T, app *fiber.App, path, authz, org string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), "GET", path, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if org != "" {
		req.Header.Set("X-Organization-Id", org)
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode == 401 && (res.Header.Get("Content-Type") != web.ProblemContentType || res.Header.Get("WWW-Authenticate") == "") {
		t.Fatalf("401 must be problem+json with WWW-Authenticate, got %q", res.Header.Get("Content-Type"))
	}
	return res.StatusCode, body
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStrictAccessTokens(t *testing.T) {
	t.Parallel()
	app, tokens := newGuardedApp(t)
	good, err := tokens.Access(1)
	if err != nil {
		t.Fatal(err)
	}
	if st, body := callGuarded(t, app, "/me", "Bearer "+good, ""); st != 200 || body["user"].(float64) != 1 {
		t.Fatalf("valid token: %d %v", st, body)
	}
	now := time.Now()
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "1", "typ": "access", "iss": "mini-crm", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	}
	without := func(k string) jwt.MapClaims { c := valid(); delete(c, k); return c }
	with := func(k string, v any) jwt.MapClaims { c := valid(); c[k] = v; return c }
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"sub":"1"`, `"sub":"2"`, 1))) + "." + parts[2]
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	noneToken := noneHeader + "." + parts[1] + "."

	cases := map[string]string{
		"alg none":         noneToken,
		"HS512":            sign(t, jwt.SigningMethodHS512, tokenSecret, valid()),
		"other key":        sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), valid()),
		"tampered payload": tampered,
		"missing exp":      sign(t, jwt.SigningMethodHS256, tokenSecret, without("exp")),
		"expired":          sign(t, jwt.SigningMethodHS256, tokenSecret, with("exp", now.Add(-time.Second).Unix())),
		"wrong issuer":     sign(t, jwt.SigningMethodHS256, tokenSecret, with("iss", "someone-else")),
		"missing issuer":   sign(t, jwt.SigningMethodHS256, tokenSecret, without("iss")),
		"refresh type":     sign(t, jwt.SigningMethodHS256, tokenSecret, with("typ", "refresh")),
		"no type":          sign(t, jwt.SigningMethodHS256, tokenSecret, without("typ")),
		"bad subject":      sign(t, jwt.SigningMethodHS256, tokenSecret, with("sub", "abc")),
		"not a jwt":        "opaque-refresh-token-value",
		"not yet valid":    sign(t, jwt.SigningMethodHS256, tokenSecret, with("nbf", now.Add(time.Hour).Unix())),
	}
	// Lenient base64 ignores the unused low bits of a segment's last character: a signature
	// altered there decodes to the same bytes and must still be refused.
	sig := []byte(parts[2])
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sig[len(sig)-1])
	sig[len(sig)-1] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last^1]
	cases["signature's last character altered"] = parts[0] + "." + parts[1] + "." + string(sig)
	for name, tok := range cases {
		for _, path := range []string{"/me", "/tenant"} {
			if st, body := callGuarded(t, app, path, "Bearer "+tok, "7"); st != 401 || body["code"] != "invalid_token" {
				t.Errorf("%s on %s: %d %v", name, path, st, body)
			}
		}
	}
	for name, h := range map[string]string{"none": "", "basic": "Basic dXNlcjpwYXNz", "empty bearer": "Bearer "} {
		if st, body := callGuarded(t, app, "/me", h, ""); st != 401 || body["code"] != "missing_token" {
			t.Errorf("%s: %d %v", name, st, body)
		}
	}
}

// A valid token of a user who no longer exists is an invalid token on every route, not a
// 403 or a failure further down.
func TestTokenOfADeletedUserIsInvalid(t *testing.T) {
	t.Parallel()
	app, tokens := newGuardedApp(t)
	tok, err := tokens.Access(3) // user 3 does not exist
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/me", "/tenant"} {
		if st, body := callGuarded(t, app, path, "Bearer "+tok, "7"); st != 401 || body["code"] != "invalid_token" {
			t.Errorf("%s: %d %v", path, st, body)
		}
	}
	// An existing user outside the organization is still told so.
	other, _ := tokens.Access(2)
	if st, body := callGuarded(t, app, "/tenant", "Bearer "+other, "7"); st != 403 || body["code"] != "not_a_member" {
		t.Errorf("non-member: %d %v", st, body)
	}
}

func TestTenantHeader(t *testing.T) {
	t.Parallel()
	app, tokens := newGuardedApp(t)
	tok, _ := tokens.Access(1)
	cases := []struct {
		org    string
		status int
		code   string
	}{
		{"", 400, "missing_organization"},
		{"abc", 400, "invalid_organization_id"},
		{"0", 400, "invalid_organization_id"},
		{"-7", 400, "invalid_organization_id"},
		{"7.0", 400, "invalid_organization_id"},
		{"99999999999999999999", 400, "invalid_organization_id"},
		{"8", 403, "not_a_member"},
		{"7", 200, ""},
	}
	for _, c := range cases {
		st, body := callGuarded(t, app, "/tenant", "Bearer "+tok, c.org)
		if st != c.status || (c.code != "" && body["code"] != c.code) {
			t.Errorf("X-Organization-Id %q: %d %v", c.org, st, body)
		}
		if st == 200 && (body["role"] != "manager" || body["org"].(float64) != 7) {
			t.Errorf("principal %v", body)
		}
	}
}

// A megabyte of header is refused by the server's read buffer before any token parsing.
func TestHugeAuthorizationHeaderIsRefusedCheaply(t *testing.T) {
	t.Parallel()
	app, _ := newGuardedApp(t)
	conn := dialServed(t, app)
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		fmt.Fprintf(conn, "GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", strings.Repeat(".", 1<<20))
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge || res.Header.Get("Content-Type") != web.ProblemContentType {
		t.Fatalf("status %d type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

// Whatever the Authorization and X-Organization-Id headers hold, the middleware answers
// 200, 400, 401 or 403, never a panic or a 5xx.
func FuzzTokenMiddleware(f *testing.F) {
	app, tokens := newGuardedApp(&testing.T{})
	good, _ := tokens.Access(1)
	for _, s := range []string{"Bearer " + good, "Bearer", "Bearer ", "bearer " + good, "Basic x", "Bearer a.b.c", "Bearer ....",
		"Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer " + good + "x", good} {
		f.Add(s, "7")
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, authz, org string) {
		req := httptest.NewRequestWithContext(context.Background(), "GET", "/tenant", nil)
		req.Header.Set("Authorization", authz)
		req.Header.Set("X-Organization-Id", org)
		res, err := app.Test(req, int(5*time.Second/time.Millisecond))
		if err != nil {
			return // the header itself was not valid HTTP; the client library refused it
		}
		res.Body.Close()
		switch res.StatusCode {
		case 200, 400, 401, 403:
		default:
			t.Fatalf("Authorization %q X-Organization-Id %q: status %d", authz, org, res.StatusCode)
		}
	})
}

// A token verified once is remembered, but only until its own expiry: the request after it
// expires is refused like any expired token, on every kind of route.
func TestRememberedTokenStillExpires(t *testing.T) {
	t.Parallel()
	tokens := auth.NewTokens(tokenSecret, "mini-crm", 1500*time.Millisecond, time.Hour)
	g := web.NewGuard(tokens, memberships{{7, 1}: auth.RoleManager}, accounts{1: true})
	app := web.NewApp(web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	app.Get("/tenant", g.Tenant(), func(c *fiber.Ctx) error {
		p, _ := auth.TenantCaller(c.UserContext())
		return c.JSON(fiber.Map{"user": p.UserID, "role": p.Role})
	})
	tok, err := tokens.Access(1)
	if err != nil {
		t.Fatal(err)
	}
	claims := &jwt.RegisteredClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if st, body := callGuarded(t, app, "/tenant", "Bearer "+tok, "7"); st != 200 || body["user"] != float64(1) || body["role"] != "manager" {
			t.Fatalf("valid token: %d %v", st, body)
		}
	}
	// The remembered token does not vouch for another string: one changed character is
	// checked in full and refused.
	forged := tok[:len(tok)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(tok, "AA")]
	if st, body := callGuarded(t, app, "/tenant", "Bearer "+forged, "7"); st != 401 || body["code"] != "invalid_token" {
		t.Fatalf("forged token: %d %v", st, body)
	}
	time.Sleep(time.Until(claims.ExpiresAt.Time) + 50*time.Millisecond)
	if st, body := callGuarded(t, app, "/tenant", "Bearer "+tok, "7"); st != 401 || body["code"] != "invalid_token" {
		t.Fatalf("expired token: %d %v", st, body)
	}
}
