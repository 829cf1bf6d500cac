package identity_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func TestRegisterLoginRefreshLogout(t *testing.T) {
	t.Parallel()
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

func TestLoginFailuresAreIndistinguishable(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	u := s.Register("ann")
	wrong := s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": u.Email, "password": "wrong-password"}})
	unknown := s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": "nobody@example.com", "password": "wrong-password"}})
	if wrong.Status != 401 || unknown.Status != 401 || wrong.Code() != "invalid_credentials" ||
		wrong.JSON()["detail"] != unknown.JSON()["detail"] || wrong.JSON()["title"] != unknown.JSON()["title"] {
		t.Fatalf("wrong password %d %s / unknown email %d %s", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
	}
	res := s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": u.Email}})
	if res.Status != 400 || res.Code() != "validation_failed" {
		t.Fatalf("missing password: %d %s", res.Status, res.Body)
	}
}

func TestChangePasswordRevokesEverySession(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	u := s.Register("ann")
	other := s.Must(200, apptest.Req{Method: "POST", Path: "/api/v1/auth/login",
		Body: map[string]any{"email": u.Email, "password": "password123"}}).JSON()["refresh_token"].(string)

	res := s.Do(apptest.Req{Method: "POST", Path: "/api/v1/users/me/password", Token: u.Token,
		Body: map[string]any{"current_password": "nope-nope", "new_password": "new-password-1"}})
	if res.Status != 401 || res.Code() != "invalid_credentials" {
		t.Fatalf("wrong current password: %d %s", res.Status, res.Body)
	}
	s.Must(400, apptest.Req{Method: "POST", Path: "/api/v1/users/me/password", Token: u.Token,
		Body: map[string]any{"current_password": "password123", "new_password": "short"}})
	s.Must(204, apptest.Req{Method: "POST", Path: "/api/v1/users/me/password", Token: u.Token,
		Body: map[string]any{"current_password": "password123", "new_password": "new-password-1"}})

	for _, rt := range []string{u.Refresh, other} {
		res := s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": rt}})
		if res.Status != 401 {
			t.Fatalf("refresh token survived a password change: %d %s", res.Status, res.Body)
		}
	}
	s.Must(401, apptest.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": u.Email, "password": "password123"}})
	s.Must(200, apptest.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": u.Email, "password": "new-password-1"}})
}

// Two refreshes racing with the same token: the row lock lets exactly one win.
func TestConcurrentRefreshSpendsTokenOnce(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	u := s.Register("ann")
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": u.Refresh}}).Status
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == 200 {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("statuses %v: want exactly one success", statuses)
	}
}
