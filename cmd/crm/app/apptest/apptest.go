// Package apptest builds the whole service on a fresh test database and drives it over
// fiber's in-memory HTTP (app.Test) with real tokens. Every module's HTTP tests use it.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/config"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/testdb"
)

// Secret is the JWT key of test services.
const Secret = "test-secret-that-is-at-least-32-bytes-long"

// FastHash keeps argon2id but with little memory, so tests that register many users stay quick.
var FastHash = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Config is the configuration of test services.
func Config() config.Config {
	return config.Config{
		JWTSecret: Secret, JWTIssuer: "mini-crm", AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 720 * time.Hour,
		AnalyticsCacheTTL: 30 * time.Second, LogLevel: "error", LogFormat: "json", RequestTimeout: 10 * time.Second,
		LoginIPLimit: 1000, LoginIPWindow: time.Minute, ShutdownTimeout: 10 * time.Second, ReadTimeout: 15 * time.Second, LoginUserLimit: 5, LoginUserWindow: 15 * time.Minute,
		APIKeyRateLimit: 600,
		EventRetention:  720 * time.Hour, WebhookRetrySchedule: config.Schedule{5 * time.Second, 5 * time.Minute},
		WebhookAllowPrivate: true, WebhookDisableAfter: 120 * time.Hour, WebhookMaxEndpoints: 10, QueueWorkers: 10,
	}
}

// Server is a service under test.
type Server struct {
	T   testing.TB
	App *app.App
}

// New builds the service on a fresh database.
func New(t testing.TB) *Server {
	return NewWith(t, Config())
}

// NewWith builds the service with cfg on a fresh database.
func NewWith(t testing.TB, cfg config.Config) *Server {
	t.Helper()
	return build(t, cfg, app.Options{HashParams: FastHash})
}

// NewWithOptions builds the service with cfg and o on a fresh database (fast password
// hashing unless o says otherwise).
func NewWithOptions(t testing.TB, cfg config.Config, o app.Options) *Server {
	t.Helper()
	if o.HashParams == nil {
		o.HashParams = FastHash
	}
	return build(t, cfg, o)
}

// NewWithClock builds the service with cfg on a fresh database, its analytics cache and
// sign-in counters reading the time from clock.
func NewWithClock(t testing.TB, cfg config.Config, clock *Clock) *Server {
	t.Helper()
	return build(t, cfg, app.Options{HashParams: FastHash, Now: clock.Now})
}

func build(t testing.TB, cfg config.Config, o app.Options) *Server {
	t.Helper()
	db := testdb.New(t, app.Sources())
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.New(cfg, log, db, o)
	if err != nil {
		t.Fatalf("build app: %v", err)
	}
	// Batched writes are finished before the database goes (cleanups run last first).
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return &Server{T: t, App: a}
}

// Clock is a time that only moves when a test advances it. It is safe for concurrent use,
// as the service reads it from its request goroutines.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testWriter sends the service's error log lines to the test log, so a 500 explains itself.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r Response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Decode decodes the body into v.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Code returns the problem code of an error response.
func (r Response) Code() string {
	c, _ := r.JSON()["code"].(string)
	return c
}

// Req is one request.
type Req struct {
	Method  string
	Path    string
	Body    any // marshalled as JSON unless it is a string or []byte
	Token   string
	Org     int64
	Headers map[string]string
}

// Do sends r through the app.
func (s *Server) Do(r Req) Response {
	s.T.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = bytes.NewBufferString(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.T.Fatalf("marshal body: %v", err)
		}
		body = bytes.NewReader(raw)
	}
	req := httptest.NewRequestWithContext(context.Background(), r.Method, r.Path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.Org != 0 {
		req.Header.Set("X-Organization-Id", strconv.FormatInt(r.Org, 10))
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	res, err := s.App.HTTP.Test(req, -1)
	if err != nil {
		s.T.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// Must sends r and fails the test unless the status is want.
func (s *Server) Must(want int, r Req) Response {
	s.T.Helper()
	res := s.Do(r)
	if res.Status != want {
		s.T.Fatalf("%s %s: status %d, want %d; body %s", r.Method, r.Path, res.Status, want, res.Body)
	}
	return res
}

// User is a registered user with a session and their first organization.
type User struct {
	ID      int64
	Email   string
	Token   string
	Refresh string
	OrgID   int64 // the organization created at registration, where the user is owner
}

// userSeq numbers registered users so that their emails never collide, also across
// parallel tests.
var userSeq atomic.Int64

// Register signs up a new user with their own organization.
func (s *Server) Register(name string) User {
	s.T.Helper()
	email := fmt.Sprintf("%s.%d.%d@example.com", name, userSeq.Add(1), time.Now().UnixNano())
	res := s.Must(http.StatusCreated, Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{
		"email": email, "password": "password123", "name": name, "organization_name": name + "'s org",
	}})
	var out struct {
		User         struct{ ID int64 }
		Organization struct{ ID int64 }
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	res.Decode(s.T, &out)
	return User{ID: out.User.ID, Email: email, Token: out.AccessToken, Refresh: out.RefreshToken, OrgID: out.Organization.ID}
}

// AddMember adds u to orgID with role, acting as owner (a user with the owner role there).
func (s *Server) AddMember(owner User, orgID int64, u User, role string) {
	s.T.Helper()
	s.Must(http.StatusCreated, Req{Method: "POST", Path: fmt.Sprintf("/api/v1/organizations/%d/members", orgID),
		Token: owner.Token, Body: map[string]any{"email": u.Email, "role": role}})
}

// Team is an organization with one user of every role.
type Team struct {
	OrgID                         int64
	Owner, Admin, Manager, Member User
	Outsider                      User // a user of another organization
}

// NewTeam registers an owner and adds an admin, a manager and a member to the owner's
// organization, plus an outsider with an organization of their own.
func (s *Server) NewTeam() Team {
	s.T.Helper()
	t := Team{Owner: s.Register("owner")}
	t.OrgID = t.Owner.OrgID
	t.Admin, t.Manager, t.Member = s.Register("admin"), s.Register("manager"), s.Register("member")
	s.AddMember(t.Owner, t.OrgID, t.Admin, "admin")
	s.AddMember(t.Owner, t.OrgID, t.Manager, "manager")
	s.AddMember(t.Owner, t.OrgID, t.Member, "member")
	t.Outsider = s.Register("outsider")
	return t
}

// As returns the user of the given role in the team.
func (t Team) As(role string) User {
	switch role {
	case "owner":
		return t.Owner
	case "admin":
		return t.Admin
	case "manager":
		return t.Manager
	case "member":
		return t.Member
	}
	return t.Outsider
}

// WantProblem fails the test unless res is a problem+json with the status and code, and
// returns its body.
func WantProblem(t testing.TB, res Response, status int, code string) map[string]any {
	t.Helper()
	if res.Status != status || res.Code() != code {
		t.Fatalf("status %d code %q, want %d %q; body %s", res.Status, res.Code(), status, code, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q", ct)
	}
	m := res.JSON()
	if m["status"] != float64(status) {
		t.Fatalf("status member %v", m["status"])
	}
	return m
}

// SameProblem fails the test unless two error responses differ at most in request_id and
// instance, so that a client cannot tell another organization's id from one that never
// existed.
func SameProblem(t testing.TB, a, b Response) {
	t.Helper()
	if a.Status != b.Status {
		t.Fatalf("statuses differ: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
	}
	ja, jb := a.JSON(), b.JSON()
	for _, k := range []string{"request_id", "instance"} {
		delete(ja, k)
		delete(jb, k)
	}
	if !reflect.DeepEqual(ja, jb) {
		t.Fatalf("bodies differ:\n%s\n%s", a.Body, b.Body)
	}
}

// ProblemFields lists the fields named by a problem's errors.
func ProblemFields(m map[string]any) []string {
	var out []string
	errs, _ := m["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// Acting returns ctx as a request of p sees it below the web layer: p as the principal for
// the services' checks and p's organization and user as the database scope for row-level
// security, for tests that call a service or facade directly.
func Acting(ctx context.Context, p auth.Principal) context.Context {
	ctx = auth.WithPrincipal(ctx, p)
	return database.WithTenant(database.WithUser(ctx, p.UserID), p.OrgID)
}

// ModuleOf returns the built module of type M, for tests that call a module's service
// directly; it fails the test when the app has none.
func ModuleOf[M any](s *Server) M {
	s.T.Helper()
	for _, m := range s.App.Modules {
		if v, ok := m.(M); ok {
			return v
		}
	}
	var zero M
	s.T.Fatalf("apptest: the app has no module of type %T", zero)
	return zero
}

// OnDatabase builds the service on db, a database a test prepared itself (an upgraded one).
func OnDatabase(t testing.TB, db *database.DB) *Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.New(Config(), log, db, app.Options{HashParams: FastHash})
	if err != nil {
		t.Fatalf("build app: %v", err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return &Server{T: t, App: a}
}

// Listen serves the app over real HTTP on a loopback port until the test ends and returns its
// base URL, for tests that need a real connection (a streamed body read as it comes, a
// response cut off mid-way), which app.Test does not give.
func (s *Server) Listen() string {
	s.T.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		s.T.Fatalf("listen: %v", err)
	}
	go func() { _ = s.App.HTTP.Listener(ln) }()
	s.T.Cleanup(func() { _ = s.App.HTTP.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}
