package identity_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func TestRegisterLoginRefreshLogout(t *testing.T) {
	s := apptest.New(t)
	u := s.Register("ann")

	// Email is trimmed and compared case-insensitively.
	res := s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{
		"email": "  " + strings.ToUpper(u.Email) + " ", "password": "password123", "name": "x", "organization_name": "y"}})
	if res.Status != http.StatusConflict || res.Code() != "email_taken" {
		t.Fatalf("duplicate email: %d %s", res.Status, res.Body)
	}

	login := s.Must(http.StatusOK, apptest.Req{Method: "POST", Path: "/api/v1/auth/login",
		Body: map[string]any{"email": strings.ToUpper(u.Email), "password": "password123"}}).JSON()
	if login["token_type"] != "Bearer" || login["access_token"] == "" || login["expires_in"].(float64) != 900 {
		t.Fatalf("login response: %v", login)
	}
	if login["user"].(map[string]any)["email"] != u.Email {
		t.Fatalf("login user: %v", login["user"])
	}

	me := s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/api/v1/users/me", Token: login["access_token"].(string)}).JSON()
	if int64(me["id"].(float64)) != u.ID {
		t.Fatalf("me: %v", me)
	}
	if _, leaked := me["password_hash"]; leaked {
		t.Fatal("password hash leaked")
	}

	r1 := login["refresh_token"].(string)
	pair := s.Must(http.StatusOK, apptest.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": r1}}).JSON()
	r2 := pair["refresh_token"].(string)
	if r2 == r1 || pair["access_token"] == "" {
		t.Fatalf("refresh: %v", pair)
	}
	// r1 is spent: presenting it again revokes the family, r2 included.
	res = s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": r1}})
	if res.Status != http.StatusUnauthorized || res.Code() != "refresh_token_reused" {
		t.Fatalf("reuse: %d %s", res.Status, res.Body)
	}
	if res.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	res = s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": r2}})
	if res.Status != http.StatusUnauthorized {
		t.Fatalf("descendant of a reused token still works: %d %s", res.Status, res.Body)
	}

	// Logout revokes the family of the presented token.
	s.Must(http.StatusNoContent, apptest.Req{Method: "POST", Path: "/api/v1/auth/logout", Body: map[string]any{"refresh_token": u.Refresh}})
	res = s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": u.Refresh}})
	if res.Status != http.StatusUnauthorized || res.Code() != "invalid_refresh_token" {
		t.Fatalf("refresh after logout: %d %s", res.Status, res.Body)
	}
}
