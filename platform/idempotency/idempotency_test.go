package idempotency_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/idempotency"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
	"github.com/mini-crm/crm/platform/web"
)

var sources = []migrate.Source{
	{Module: "database", FS: database.Migrations()},
	{Module: "idempotency", FS: idempotency.Migrations()},
	{Module: "things", FS: fstest.MapFS{"migrations/20300101000000_things.sql": {Data: []byte(
		"-- migrate:up\nCREATE TABLE things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);\n-- migrate:down\nDROP TABLE things;\n")}}},
}

type fixture struct {
	db      *database.DB // as the service connects: the application role, under row-level security
	owner   *database.DB // as migrations connect, for what a test arranges behind the service's back
	keys    *idempotency.Keys
	app     *fiber.App
	release chan struct{}
	entered chan struct{}
}

func setup(t *testing.T) *fixture {
	t.Helper()
	url := testdb.URL(t, sources)
	f := &fixture{db: open(t, url, database.AppRole), owner: open(t, url, ""), release: make(chan struct{}), entered: make(chan struct{}, 8)}
	app := web.NewApp(web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	who := func(c *fiber.Ctx) error { // stands in for the auth and tenant middleware
		uid, _ := strconv.ParseInt(c.Get("X-User"), 10, 64)
		org, _ := strconv.ParseInt(c.Get("X-Org"), 10, 64)
		ctx := auth.WithPrincipal(c.UserContext(), auth.Principal{UserID: uid, OrgID: org, Role: auth.RoleOwner})
		c.SetUserContext(database.WithTenant(database.WithUser(ctx, uid), org))
		return c.Next()
	}
	f.keys = idempotency.New(f.db, time.Second, []byte("test-secret"))
	keys := f.keys
	app.Post("/things", who, keys.Handler(), func(c *fiber.Ctx) error {
		var in struct {
			Name string `json:"name" validate:"required"`
		}
		if err := web.Bind(c, &in); err != nil {
			return err
		}
		if in.Name == "slow" {
			f.entered <- struct{}{}
			<-f.release
		}
		if in.Name == "panic" {
			panic("handler failed")
		}
		if in.Name == "crash" {
			return apperr.New(apperr.KindInternal, "x", "x")
		}
		id, err := database.Scalar[int64](c.UserContext(), f.db.Q(c.UserContext()),
			database.SQL.Insert("things").Columns("name").Values(in.Name).Suffix("RETURNING id"))
		if err != nil {
			return err
		}
		c.Location("/things/" + strconv.FormatInt(id, 10))
		return c.Status(201).JSON(fiber.Map{"id": id, "name": in.Name})
	})
	f.app = app
	return f
}

func open(t *testing.T, url, role string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), url, database.Options{MaxConns: 8, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

type result struct {
	status int
	body   string
	header map[string]string
}

func (f *fixture) post(t *testing.T, user, org, key, body string) result {
	t.Helper()
	return f.postURL(t, "/things", user, org, key, body)
}

func (f *fixture) postURL(t *testing.T, url, user, org, key, body string) result {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-User", user)
	req.Header.Set("X-Org", org)
	if key != "" {
		req.Header.Set(idempotency.Header, key)
	}
	res, err := f.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return result{status: res.StatusCode, body: string(raw), header: map[string]string{
		"Location": res.Header.Get("Location"), "Replayed": res.Header.Get(idempotency.ReplayedHeader),
		"Content-Type": res.Header.Get("Content-Type")}}
}

func (f *fixture) count(t *testing.T) int {
	t.Helper()
	n, err := database.Scalar[int](context.Background(), f.db.Q(context.Background()), database.SQL.Select("count(*)").From("things"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReplaySameKeyAndBody(t *testing.T) {
	t.Parallel()
	f := setup(t)
	first := f.post(t, "1", "10", "k1", `{"name":"a"}`)
	again := f.post(t, "1", "10", "k1", `{"name":"a"}`)
	if first.status != 201 || again.status != 201 || first.body != again.body || first.header["Location"] != again.header["Location"] {
		t.Fatalf("first %+v, replay %+v", first, again)
	}
	if again.header["Replayed"] != "true" || again.header["Content-Type"] != "application/json" {
		t.Fatalf("replay headers %+v", again.header)
	}
	if n := f.count(t); n != 1 {
		t.Fatalf("%d things created, want 1", n)
	}
	// Without a key every request creates.
	f.post(t, "1", "10", "", `{"name":"a"}`)
	f.post(t, "1", "10", "", `{"name":"a"}`)
	if n := f.count(t); n != 3 {
		t.Fatalf("%d things", n)
	}
}

func TestSameKeyOtherBodyIs422(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.post(t, "1", "10", "k1", `{"name":"a"}`)
	res := f.post(t, "1", "10", "k1", `{"name":"b"}`)
	if res.status != 422 || !strings.Contains(res.body, "idempotency_key_reused") {
		t.Fatalf("%+v", res)
	}
	if n := f.count(t); n != 1 {
		t.Fatalf("%d things", n)
	}
}

func TestKeysAreScopedToUserAndOrganization(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.post(t, "1", "10", "k1", `{"name":"a"}`)
	for _, who := range [][2]string{{"2", "10"}, {"1", "11"}} {
		if res := f.post(t, who[0], who[1], "k1", `{"name":"a"}`); res.status != 201 || res.header["Replayed"] != "" {
			t.Fatalf("%v: %+v", who, res)
		}
	}
	if n := f.count(t); n != 3 {
		t.Fatalf("%d things", n)
	}
}

func TestKeyInProgressIs409(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var wg sync.WaitGroup
	var first result
	wg.Add(1)
	go func() { defer wg.Done(); first = f.post(t, "1", "10", "k1", `{"name":"slow"}`) }()
	<-f.entered
	if res := f.post(t, "1", "10", "k1", `{"name":"slow"}`); res.status != 409 || !strings.Contains(res.body, "idempotency_key_in_progress") {
		t.Fatalf("concurrent: %+v", res)
	}
	close(f.release)
	wg.Wait()
	if first.status != 201 {
		t.Fatalf("first: %+v", first)
	}
	if res := f.post(t, "1", "10", "k1", `{"name":"slow"}`); res.status != 201 || res.header["Replayed"] != "true" {
		t.Fatalf("after: %+v", res)
	}
}

func TestErrorsAreReplayedButServerErrorsReleaseTheKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	bad := f.post(t, "1", "10", "k1", `{}`)
	if again := f.post(t, "1", "10", "k1", `{}`); bad.status != 400 || again.status != 400 || again.header["Replayed"] != "true" {
		t.Fatalf("validation error replay: %+v / %+v", bad, again)
	}
	if res := f.post(t, "1", "10", "k2", `{"name":"crash"}`); res.status != 500 {
		t.Fatalf("crash: %+v", res)
	}
	if res := f.post(t, "1", "10", "k2", `{"name":"crash"}`); res.status != 500 || res.header["Replayed"] != "" {
		t.Fatalf("a 5xx must not be replayed: %+v", res)
	}
}

func TestExpiredKeysAreForgotten(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.post(t, "1", "10", "k1", `{"name":"a"}`)
	if _, err := f.owner.Pool.Exec(context.Background(), "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"); err != nil {
		t.Fatal(err)
	}
	if res := f.post(t, "1", "10", "k1", `{"name":"b"}`); res.status != 201 || res.header["Replayed"] != "" {
		t.Fatalf("after 24h the key is new again: %+v", res)
	}
	for _, bad := range []string{strings.Repeat("x", 256), "k\xff", "k\xc3"} {
		if res := f.post(t, "1", "10", bad, `{"name":"a"}`); res.status != 400 || !strings.Contains(res.body, "invalid_idempotency_key") {
			t.Fatalf("key %q: %+v", bad, res)
		}
	}
}

// A claim left unanswered by a request that never finished (the process died) blocks its key
// only while a request could still be running: twice the request timeout and 5 seconds,
// 7 seconds here. Older, it is taken over and the retry runs for real.
func TestAnAbandonedClaimIsTakenOver(t *testing.T) {
	t.Parallel()
	f := setup(t)
	body := `{"name":"a"}`
	hash := f.keys.Fingerprint("POST", "/things", []byte(body)) // the same request as the retries below
	claim := func(key string, age time.Duration) {
		t.Helper()
		if _, err := f.owner.Pool.Exec(context.Background(), `INSERT INTO idempotency_keys
			(user_id, organization_id, key, request_hash, created_at) VALUES (1, 10, $1, $2, now() - make_interval(secs => $3))`,
			key, hash, age.Seconds()); err != nil {
			t.Fatal(err)
		}
	}
	claim("running", 6*time.Second)
	claim("abandoned", 8*time.Second)
	if res := f.post(t, "1", "10", "running", body); res.status != 409 || !strings.Contains(res.body, "idempotency_key_in_progress") {
		t.Fatalf("a claim younger than the abandonment delay: %+v", res)
	}
	first := f.post(t, "1", "10", "abandoned", body)
	if first.status != 201 || first.header["Replayed"] != "" {
		t.Fatalf("an abandoned claim: %+v", first)
	}
	if again := f.post(t, "1", "10", "abandoned", body); again.status != 201 || again.header["Replayed"] != "true" || again.body != first.body {
		t.Fatalf("the retry that took the key over is replayed: %+v", again)
	}
	if n := f.count(t); n != 1 {
		t.Fatalf("%d things, want 1", n)
	}
}

// The response is recorded in the transaction of the write: when recording it fails, or the
// transaction fails at commit, nothing was created, the client gets a server error (never the
// success its handler had rendered), and the key is free for a retry that then creates the
// record exactly once.
func TestTheWriteAndItsRecordedResponseCommitTogether(t *testing.T) {
	t.Parallel()
	for name, trigger := range map[string]string{
		"recording fails": `CREATE TRIGGER fail_record BEFORE UPDATE ON idempotency_keys
			FOR EACH ROW WHEN (NEW.status IS NOT NULL) EXECUTE FUNCTION fail_record()`,
		"commit fails": `CREATE CONSTRAINT TRIGGER fail_record AFTER UPDATE ON idempotency_keys
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status IS NOT NULL) EXECUTE FUNCTION fail_record()`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			ctx := context.Background()
			for _, stmt := range []string{
				`CREATE FUNCTION fail_record() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'recording refused'; END $$`,
				trigger,
			} {
				if _, err := f.owner.Pool.Exec(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			res := f.post(t, "1", "10", "k1", `{"name":"a"}`)
			if res.status < 500 || res.header["Location"] != "" || strings.Contains(res.body, `"id"`) {
				t.Fatalf("a response that could not be recorded must not reach the client as a success: %+v", res)
			}
			if n := f.count(t); n != 0 {
				t.Fatalf("%d things created by a request whose response was not recorded, want 0", n)
			}
			if _, err := f.owner.Pool.Exec(ctx, `DROP TRIGGER fail_record ON idempotency_keys`); err != nil {
				t.Fatal(err)
			}
			first := f.post(t, "1", "10", "k1", `{"name":"a"}`)
			again := f.post(t, "1", "10", "k1", `{"name":"a"}`)
			if first.status != 201 || first.header["Replayed"] != "" || again.status != 201 || again.header["Replayed"] != "true" || again.body != first.body {
				t.Fatalf("retry %+v, replay %+v", first, again)
			}
			if n := f.count(t); n != 1 {
				t.Fatalf("%d things after the retries, want 1", n)
			}
		})
	}
}

// The sweep removes the expired keys of every caller, and nothing else: not another caller's
// fresh key, although row-level security lets it see expired rows of others.
func TestTheSweepRemovesEveryCallersExpiredKeysOnly(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for _, r := range []struct {
		user, org int64
		key, age  string
	}{{2, 20, "old", "25 hours"}, {2, 20, "fresh", "1 hour"}, {1, 10, "mine", "25 hours"}, {0, 0, "signup", "30 hours"}} {
		if _, err := f.owner.Pool.Exec(ctx, `INSERT INTO idempotency_keys (user_id, organization_id, key, request_hash, status, created_at)
			VALUES ($1, $2, $3, '\x00', 201, now() - $4::interval)`, r.user, r.org, r.key, r.age); err != nil {
			t.Fatal(err)
		}
	}
	caller := database.WithTenant(database.WithUser(ctx, 1), 10)
	if err := f.keys.Sweep(caller); err != nil {
		t.Fatal(err)
	}
	var left []string
	rows, err := f.owner.Pool.Query(ctx, `SELECT key FROM idempotency_keys ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		left = append(left, k)
	}
	if strings.Join(left, ",") != "fresh" {
		t.Fatalf("keys left after the sweep: %v, want only the other caller's fresh key", left)
	}
	// Outside the sweep, a caller sees none of another caller's keys, expired ones included.
	if _, err := f.owner.Pool.Exec(ctx, `INSERT INTO idempotency_keys (user_id, organization_id, key, request_hash, created_at)
		VALUES (2, 20, 'old2', '\x00', now() - interval '25 hours')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.db.Q(caller).QueryRow(caller, `SELECT count(*) FROM idempotency_keys`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the caller sees %d keys of others (%v)", n, err)
	}
}

// A handler that panics rolls its transaction back and gives the key back, so the retry
// runs for real instead of waiting on a claim nobody will answer.
func TestAPanicGivesTheKeyBack(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for i := range 2 {
		if res := f.post(t, "1", "10", "k1", `{"name":"panic"}`); res.status != 500 {
			t.Fatalf("attempt %d: %+v, want the 500 of a panic (not 409)", i+1, res)
		}
	}
	if n := f.count(t); n != 0 {
		t.Fatalf("%d things", n)
	}
}

// The fingerprint covers the query string too: the same key and body sent to another URL is
// another request.
func TestTheQueryStringIsPartOfTheRequest(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if res := f.post(t, "1", "10", "k1", `{"name":"a"}`); res.status != 201 {
		t.Fatalf("%+v", res)
	}
	if res := f.postURL(t, "/things?x=1", "1", "10", "k1", `{"name":"a"}`); res.status != 422 {
		t.Fatalf("same key, same body, other query: %+v", res)
	}
}

// A recorded response may hold credentials (a sign-up's tokens): it is stored encrypted, and
// still replayed as it was sent. A body recorded before bodies were sealed replays as is.
func TestRecordedBodiesAreEncryptedAtRest(t *testing.T) {
	t.Parallel()
	f := setup(t)
	first := f.post(t, "1", "10", "k1", `{"name":"secret-value"}`)
	var stored []byte
	if err := f.owner.Pool.QueryRow(context.Background(), `SELECT body FROM idempotency_keys WHERE key = 'k1'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) == 0 || strings.Contains(string(stored), "secret-value") {
		t.Fatalf("the recorded body is readable in the table: %q", stored)
	}
	if again := f.post(t, "1", "10", "k1", `{"name":"secret-value"}`); again.status != 201 || again.body != first.body {
		t.Fatalf("replay %+v, first %+v", again, first)
	}
	legacy := `{"id":7,"name":"old"}`
	hash := f.keys.Fingerprint("POST", "/things", []byte(`{"name":"old"}`))
	if _, err := f.owner.Pool.Exec(context.Background(), `INSERT INTO idempotency_keys (user_id, organization_id, key, request_hash, status, headers, body)
		VALUES (1, 10, 'legacy', $1, 201, '{}', $2)`, hash, []byte(legacy)); err != nil {
		t.Fatal(err)
	}
	if res := f.post(t, "1", "10", "legacy", `{"name":"old"}`); res.status != 201 || res.body != legacy {
		t.Fatalf("legacy replay %+v", res)
	}
}
