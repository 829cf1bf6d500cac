package identity_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/platform/testdb"
)

func login(s *apptest.Server, email, password string) apptest.Response {
	return s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": password}})
}

func throttled(t *testing.T, res apptest.Response) {
	t.Helper()
	apptest.WantProblem(t, res, http.StatusTooManyRequests, "too_many_login_attempts")
	secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
	}
}

func TestAccountIsThrottledAfterFailures(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config()
	cfg.LoginUserLimit, cfg.LoginUserWindow = 3, time.Minute
	s := apptest.NewWith(t, cfg)
	u, other := s.Register("ann"), s.Register("bob")
	for range 3 {
		if res := login(s, u.Email, "wrong-password"); res.Status != 401 {
			t.Fatalf("failure %d", res.Status)
		}
	}
	// Throttled: even the right password is refused, so guessing cannot continue.
	throttled(t, login(s, u.Email, "password123"))
	// The account's case and spacing do not open a new counter.
	throttled(t, login(s, " "+u.Email+" ", "password123"))
	// Other accounts are unaffected.
	if res := login(s, other.Email, "password123"); res.Status != 200 {
		t.Fatalf("other account: %d %s", res.Status, res.Body)
	}
}

// The account's counter lives for its window: once the window is over, the right password
// is let in again.
func TestThrottledAccountIsAdmittedAfterItsWindow(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config()
	cfg.LoginUserLimit, cfg.LoginUserWindow = 2, 10*time.Minute
	clock := apptest.NewClock(time.Now())
	s := apptest.NewWithClock(t, cfg, clock)
	u := s.Register("ann")
	login(s, u.Email, "wrong-password")
	clock.Advance(time.Minute)
	login(s, u.Email, "wrong-password")
	clock.Advance(9*time.Minute - time.Second)
	res := login(s, u.Email, "password123")
	throttled(t, res)
	if ra := res.Header.Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After %q with one second of the window left", ra)
	}
	clock.Advance(time.Second)
	if res := login(s, u.Email, "password123"); res.Status != 200 {
		t.Fatalf("after the window: %d %s", res.Status, res.Body)
	}
}

func TestSuccessClearsFailures(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config()
	cfg.LoginUserLimit = 3
	s := apptest.NewWith(t, cfg)
	u := s.Register("ann")
	for range 5 {
		login(s, u.Email, "wrong-password")
		login(s, u.Email, "wrong-password")
		if res := login(s, u.Email, "password123"); res.Status != 200 {
			t.Fatalf("login after two failures: %d %s", res.Status, res.Body)
		}
	}
}

func TestClientAddressIsThrottled(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config()
	cfg.LoginIPLimit = 4
	s := apptest.NewWith(t, cfg)
	u := s.Register("ann")
	for i := range 4 {
		login(s, fmt.Sprintf("nobody%d@example.com", i), "whatever-password")
	}
	throttled(t, login(s, u.Email, "password123"))
}

// With REDIS_URL the counters live in Redis: two instances share them.
func TestThrottleSharedThroughRedis(t *testing.T) {
	cfg := apptest.Config()
	cfg.RedisURL = testdb.Redis(t, 0)
	cfg.LoginUserLimit, cfg.LoginUserWindow = 2, time.Minute
	a := apptest.NewWith(t, cfg)
	b := apptest.NewWith(t, cfg)
	// Both instances must know the user: register in a and b with the same email.
	email := fmt.Sprintf("shared.%d@example.com", time.Now().UnixNano())
	for _, s := range []*apptest.Server{a, b} {
		s.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{
			"email": email, "password": "password123", "name": "Shared", "organization_name": "S"}})
	}
	login(a, email, "wrong-password")
	login(a, email, "wrong-password")
	throttled(t, login(b, email, "password123"))
}
