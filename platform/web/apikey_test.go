package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/ratelimit"
	"github.com/mini-crm/crm/platform/web"
)

// apiKeys knows one key of organization 7, acting for user 1 as a member.
type apiKeys map[string]auth.APIKey

func (k apiKeys) Authenticate(_ context.Context, token string) (auth.APIKey, error) {
	if key, ok := k[token]; ok {
		return key, nil
	}
	return auth.APIKey{}, auth.ErrInvalidAPIKey
}

const goodKey = "crm_good"

func newKeyedApp(t *testing.T, limit int) (*fiber.App, *auth.Tokens) {
	t.Helper()
	tokens := auth.NewTokens(tokenSecret, "mini-crm", time.Minute, time.Hour)
	g := web.NewGuard(tokens, memberships{{7, 1}: auth.RoleManager}, accounts{1: true}).
		AcceptAPIKeys(apiKeys{goodKey: {ID: 3, OrgID: 7, CreatorID: 1, Role: auth.RoleMember}},
			web.KeyLimits{Store: ratelimit.NewMemory(), Limit: limit})
	app := web.NewApp(web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	routes := web.NewRoutes(app.Group(""), g, nil)
	principal := func(c *fiber.Ctx) error {
		p, _ := auth.PrincipalFrom(c.UserContext())
		return c.JSON(fiber.Map{"user": p.UserID, "org": p.OrgID, "role": p.Role, "key": p.KeyID})
	}
	routes.Public.Get("/public", principal)
	routes.SignedIn.Get("/me", principal)
	routes.Tenant.Get("/tenant", principal)
	routes.Tenant.People().Get("/tenant-people", principal)
	routes.OrgPath.Get("/orgs/:org_id", principal)
	routes.OrgPath.People().Get("/orgs/:org_id/people", principal)
	return app, tokens
}

func TestAPIKeyOnEveryGroup(t *testing.T) {
	t.Parallel()
	app, tokens := newKeyedApp(t, 100)
	person, _ := tokens.Access(1)
	cases := []struct {
		path, authz, org string
		status           int
		code             string
	}{
		{"/tenant", "Bearer " + goodKey, "", 200, ""},
		{"/tenant", "Bearer " + goodKey, "7", 200, ""},
		{"/tenant", "Bearer " + goodKey, "8", 403, "not_a_member"},
		{"/tenant", "Bearer " + goodKey, "x", 400, "invalid_organization_id"},
		{"/tenant", "bearer " + goodKey, "", 200, ""},
		{"/tenant", "Bearer crm_unknown", "", 401, "invalid_api_key"},
		{"/orgs/7", "Bearer " + goodKey, "", 200, ""},
		{"/orgs/8", "Bearer " + goodKey, "", 403, "not_a_member"},
		{"/orgs/abc", "Bearer " + goodKey, "", 403, "not_a_member"},
		{"/me", "Bearer " + goodKey, "", 403, "api_key_not_allowed"},
		{"/public", "Bearer " + goodKey, "", 403, "api_key_not_allowed"},
		{"/tenant-people", "Bearer " + goodKey, "", 403, "api_key_not_allowed"},
		{"/tenant-people", "Bearer crm_unknown", "", 403, "api_key_not_allowed"},
		{"/orgs/7/people", "Bearer " + goodKey, "", 403, "api_key_not_allowed"},
		// People are let through the same routes.
		{"/tenant-people", "Bearer " + person, "7", 200, ""},
		{"/orgs/7/people", "Bearer " + person, "", 200, ""},
		{"/public", "", "", 200, ""},
		{"/tenant", "Bearer " + person, "", 400, "missing_organization"},
	}
	for _, c := range cases {
		st, body := callGuarded(t, app, c.path, c.authz, c.org)
		if st != c.status || (c.code != "" && body["code"] != c.code) {
			t.Errorf("%s %q org %q: %d %v, want %d %s", c.path, c.authz, c.org, st, body, c.status, c.code)
		}
		if st == 200 && c.authz == "Bearer "+goodKey {
			if body["user"] != float64(1) || body["org"] != float64(7) || body["role"] != "member" || body["key"] != float64(3) {
				t.Errorf("%s: principal %v", c.path, body)
			}
		}
	}
}

func TestAPIKeyRateLimitHeaders(t *testing.T) {
	t.Parallel()
	app, _ := newKeyedApp(t, 2)
	get := func() (int, map[string]string) {
		req := httptest.NewRequestWithContext(context.Background(), "GET", "/tenant", nil)
		req.Header.Set("Authorization", "Bearer "+goodKey)
		res, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		h := map[string]string{}
		for _, n := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"} {
			h[n] = res.Header.Get(n)
		}
		return res.StatusCode, h
	}
	for i, want := range []string{"1", "0"} {
		st, h := get()
		if st != 200 || h["RateLimit-Limit"] != "2" || h["RateLimit-Remaining"] != want || h["RateLimit-Reset"] != "60" {
			t.Fatalf("request %d: %d %v", i+1, st, h)
		}
	}
	st, h := get()
	if st != 429 || h["RateLimit-Remaining"] != "0" || h["Retry-After"] != h["RateLimit-Reset"] || h["Retry-After"] == "" {
		t.Fatalf("over the limit: %d %v", st, h)
	}
}
