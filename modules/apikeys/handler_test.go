package apikeys_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/apikeys"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/testdb"
)

type env struct {
	*apptest.Server
	team apptest.Team
	// sql is a connection of its own as the database owner, below row-level security: tests
	// read what is at rest and move expiries into the past.
	sql *pgx.Conn
}

func newEnv(t *testing.T) env {
	t.Helper()
	return newEnvWith(t, apptest.New(t))
}

func newEnvWith(t *testing.T, s *apptest.Server) env {
	t.Helper()
	e := env{Server: s, team: s.NewTeam()}
	conn, err := pgx.Connect(context.Background(), s.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	e.sql = conn
	return e
}

func keysPath(org int64, rest string) string {
	return fmt.Sprintf("/api/v1/organizations/%d/api-keys%s", org, rest)
}

type created struct {
	ID    int64
	Token string
	Body  map[string]any
}

// create makes a key as u in the team's organization.
func (e env) create(u apptest.User, role string, extra map[string]any) created {
	e.T.Helper()
	body := map[string]any{"name": "integration " + role, "role": role}
	for k, v := range extra {
		body[k] = v
	}
	res := e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: keysPath(e.team.OrgID, ""), Token: u.Token, Body: body})
	m := res.JSON()
	return created{ID: int64(m["id"].(float64)), Token: m["token"].(string), Body: m}
}

// list returns the team's keys as the owner sees them, by id.
func (e env) list() map[int64]map[string]any {
	e.T.Helper()
	var page struct{ Items []map[string]any }
	e.Must(200, apptest.Req{Method: "GET", Path: keysPath(e.team.OrgID, "?page_size=100"), Token: e.team.Owner.Token}).Decode(e.T, &page)
	out := map[int64]map[string]any{}
	for _, it := range page.Items {
		out[int64(it["id"].(float64))] = it
	}
	return out
}

// withKey sends a request authenticated by an API key token, without X-Organization-Id.
func (e env) withKey(token, method, path string, body any) apptest.Response {
	e.T.Helper()
	return e.Do(apptest.Req{Method: method, Path: path, Token: token, Body: body})
}

var tokenForm = regexp.MustCompile(`^crm_[A-Za-z0-9_-]{43}$`)

// The token is shown once, in the create's answer; the list never shows it, and what is stored
// is its SHA-256 alone.
func TestCreateShowsTheTokenOnceAndStoresItsHash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(e.team.Owner, "manager", nil)
	if !tokenForm.MatchString(k.Token) {
		t.Fatalf("token %q is not crm_ and 32 bytes of unpadded base64url", k.Token)
	}
	want := map[string]any{"name": "integration manager", "role": "manager", "prefix": k.Token[4:12],
		"created_by": float64(e.team.Owner.ID), "expires_at": nil, "last_used_at": nil, "revoked_at": nil}
	for f, v := range want {
		if k.Body[f] != v {
			t.Errorf("created %s = %v, want %v", f, k.Body[f], v)
		}
	}
	listed := e.list()[k.ID]
	if listed == nil {
		t.Fatalf("key %d not listed", k.ID)
	}
	if _, ok := listed["token"]; ok {
		t.Fatalf("the list shows the token: %v", listed)
	}
	if len(listed) != 9 {
		t.Fatalf("list item has fields %v, want the 9 of the contract", listed)
	}
	for f, v := range want {
		if listed[f] != v {
			t.Errorf("listed %s = %v, want %v", f, listed[f], v)
		}
	}

	var row string
	if err := e.sql.QueryRow(context.Background(), `SELECT row_to_json(k)::text FROM api_keys k WHERE id = $1`, k.ID).Scan(&row); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row, k.Token[4:]) {
		t.Fatalf("the token is stored: %s", row)
	}
	var hash []byte
	if err := e.sql.QueryRow(context.Background(), `SELECT token_hash FROM api_keys WHERE id = $1`, k.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(k.Token)); string(hash) != string(sum[:]) {
		t.Fatalf("stored hash %x is not the SHA-256 of the token", hash)
	}
}

func TestCreateRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	post := func(u apptest.User, body map[string]any) apptest.Response {
		return e.Do(apptest.Req{Method: "POST", Path: keysPath(e.team.OrgID, ""), Token: u.Token, Body: body})
	}
	// Owner-level keys do not exist, for owners or admins.
	for _, u := range []apptest.User{e.team.Owner, e.team.Admin} {
		m := apptest.WantProblem(t, post(u, map[string]any{"name": "k", "role": "owner"}), 400, "validation_failed")
		if f := apptest.ProblemFields(m); len(f) != 1 || f[0] != "role" {
			t.Fatalf("owner key: fields %v", f)
		}
	}
	// An admin may create an admin key, the highest there is.
	e.create(e.team.Admin, "admin", nil)
	// Managers and members manage no keys.
	for _, u := range []apptest.User{e.team.Manager, e.team.Member} {
		apptest.WantProblem(t, post(u, map[string]any{"name": "k", "role": "member"}), 403, "forbidden")
		apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: keysPath(e.team.OrgID, ""), Token: u.Token}), 403, "forbidden")
	}
	// Expiry in the past or now → 400 on expires_at; in the future it is kept.
	m := apptest.WantProblem(t, post(e.team.Owner, map[string]any{"name": "k", "role": "member",
		"expires_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}), 400, "validation_failed")
	if f := apptest.ProblemFields(m); len(f) != 1 || f[0] != "expires_at" {
		t.Fatalf("past expiry: fields %v", f)
	}
	apptest.WantProblem(t, post(e.team.Owner, map[string]any{"name": "k", "role": "member", "expires_at": "tomorrow"}), 400, "validation_failed")
	future := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	k := e.create(e.team.Owner, "member", map[string]any{"expires_at": future.Format(time.RFC3339)})
	if k.Body["expires_at"] != future.Format(time.RFC3339) {
		t.Fatalf("expires_at %v, want %s", k.Body["expires_at"], future.Format(time.RFC3339))
	}
	for _, bad := range []map[string]any{{"role": "member"}, {"name": " ", "role": "member"}, {"name": "k"}, {"name": "k", "role": "guest"}} {
		apptest.WantProblem(t, post(e.team.Owner, bad), 400, "validation_failed")
	}
	apptest.WantProblem(t, post(e.team.Owner, map[string]any{"name": "k", "role": "member", "token": "crm_mine"}), 400, "unknown_field")
}

// A key works on the tenant routes of its organization without X-Organization-Id, with its
// role, and what it creates belongs to its creator.
func TestKeyActsForItsCreatorWithItsRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	member := e.create(e.team.Owner, "member", nil)
	manager := e.create(e.team.Owner, "manager", nil)

	res := e.withKey(member.Token, "POST", "/api/v1/contacts", map[string]any{"name": "Through a key"})
	if res.Status != 201 || res.JSON()["owner_id"] != float64(e.team.Owner.ID) {
		t.Fatalf("contact created through a key: %d %s", res.Status, res.Body)
	}
	contact := int64(res.JSON()["id"].(float64))
	deal := e.withKey(manager.Token, "POST", "/api/v1/deals", map[string]any{"contact_id": contact, "title": "D", "amount": "10.00"})
	if deal.Status != 201 || deal.JSON()["owner_id"] != float64(e.team.Owner.ID) {
		t.Fatalf("deal created through a key: %d %s", deal.Status, deal.Body)
	}
	// The header may name the key's own organization too.
	e.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: member.Token, Org: e.team.OrgID})

	// A member key may not filter by owner; a manager key may (the owner token could).
	ownerFilter := fmt.Sprintf("/api/v1/deals?owner_id=%d", e.team.Owner.ID)
	apptest.WantProblem(t, e.withKey(member.Token, "GET", ownerFilter, nil), 403, "owner_filter_forbidden")
	if res := e.withKey(manager.Token, "GET", ownerFilter, nil); res.Status != 200 {
		t.Fatalf("manager key filters by owner: %d %s", res.Status, res.Body)
	}
	// The organization's own path routes answer with the key's role.
	org := e.withKey(member.Token, "GET", fmt.Sprintf("/api/v1/organizations/%d", e.team.OrgID), nil)
	if org.Status != 200 || org.JSON()["role"] != "member" {
		t.Fatalf("GET organization with a member key: %d %s", org.Status, org.Body)
	}
	apptest.WantProblem(t, e.withKey(member.Token, "PATCH", fmt.Sprintf("/api/v1/organizations/%d", e.team.OrgID),
		map[string]any{"name": "N"}), 403, "forbidden")
	e.Must(200, apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/organizations/%d/members", e.team.OrgID), Token: member.Token})
}

// A key is good in its own organization only.
func TestKeyStaysInItsOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(e.team.Owner, "admin", nil)
	other := e.team.Outsider.OrgID
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: k.Token, Org: other}), 403, "not_a_member")
	a := e.withKey(k.Token, "GET", fmt.Sprintf("/api/v1/organizations/%d", other), nil)
	n := e.withKey(k.Token, "GET", "/api/v1/organizations/99999999", nil)
	apptest.WantProblem(t, a, 403, "not_a_member")
	apptest.SameProblem(t, a, n)
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: k.Token, Org: 0,
		Headers: map[string]string{"X-Organization-Id": "abc"}}), 400, "invalid_organization_id")
}

// Revoked, expired, unknown and malformed keys are 401 invalid_api_key; revoking answers 204,
// stops the key at once and keeps it listed with revoked_at.
func TestKeysThatNoLongerWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	revoked := e.create(e.team.Owner, "member", nil)
	expired := e.create(e.team.Owner, "member", map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	for _, k := range []created{revoked, expired} {
		e.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: k.Token})
	}
	e.Must(204, apptest.Req{Method: "DELETE", Path: keysPath(e.team.OrgID, fmt.Sprint("/", revoked.ID)), Token: e.team.Admin.Token})
	if _, err := e.sql.Exec(context.Background(), `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, expired.ID); err != nil {
		t.Fatal(err)
	}
	unknown := "crm_" + strings.Repeat("A", 43)
	for name, token := range map[string]string{"revoked": revoked.Token, "expired": expired.Token, "unknown": unknown,
		"too short": "crm_abc", "not base64url": "crm_" + strings.Repeat("!", 43), "changed": revoked.Token[:46] + "x"} {
		for _, path := range []string{"/api/v1/contacts", fmt.Sprintf("/api/v1/organizations/%d", e.team.OrgID)} {
			res := e.withKey(token, "GET", path, nil)
			if res.Status != 401 || res.Code() != "invalid_api_key" || res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s key on %s: %d %s", name, path, res.Status, res.Body)
			}
		}
	}
	keys := e.list()
	if keys[revoked.ID]["revoked_at"] == nil || keys[expired.ID]["revoked_at"] != nil {
		t.Fatalf("after revoking: %v", keys)
	}
	// Revoking again changes nothing; an unknown key is 404.
	e.Must(204, apptest.Req{Method: "DELETE", Path: keysPath(e.team.OrgID, fmt.Sprint("/", revoked.ID)), Token: e.team.Owner.Token})
	if again := e.list()[revoked.ID]["revoked_at"]; again != keys[revoked.ID]["revoked_at"] {
		t.Fatalf("revoked_at moved from %v to %v", keys[revoked.ID]["revoked_at"], again)
	}
	for _, id := range []string{"/999999", "/abc", "/0"} {
		apptest.WantProblem(t, e.Do(apptest.Req{Method: "DELETE", Path: keysPath(e.team.OrgID, id), Token: e.team.Owner.Token}), 404, "api_key_not_found")
	}
	// Another organization's owner cannot revoke it: they are not a member here, and their own
	// organization has no such key.
	other := e.create(e.team.Owner, "member", nil)
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "DELETE", Path: keysPath(e.team.Outsider.OrgID, fmt.Sprint("/", other.ID)),
		Token: e.team.Outsider.Token}), 404, "api_key_not_found")
	e.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: other.Token})
}

// Revoking on one replica stops the key on another at once: nothing is cached.
func TestRevocationReachesEveryReplicaAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	replica, err := app.New(apptest.Config(), slog.New(slog.DiscardHandler), e.App.DB, app.Options{HashParams: apptest.FastHash})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = replica.Close(context.Background()) })
	other := &apptest.Server{T: t, App: replica}
	k := e.create(e.team.Owner, "member", nil)
	other.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: k.Token})
	e.Must(204, apptest.Req{Method: "DELETE", Path: keysPath(e.team.OrgID, fmt.Sprint("/", k.ID)), Token: e.team.Owner.Token})
	apptest.WantProblem(t, other.Do(apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: k.Token}), 401, "invalid_api_key")
}

// A key never has more rights than its creator has now: removed, the creator's keys are
// revoked (in the removal's transaction); demoted, their keys act with the lower role.
func TestKeyFollowsItsCreatorsMembership(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	adminKey := e.create(e.team.Admin, "admin", nil)
	managerKey := e.create(e.team.Admin, "manager", nil)
	ownersKey := e.create(e.team.Owner, "admin", nil)
	settings := fmt.Sprintf("/api/v1/organizations/%d", e.team.OrgID)
	if res := e.withKey(adminKey.Token, "PATCH", settings, map[string]any{"name": "By key"}); res.Status != 200 {
		t.Fatalf("admin key changes settings: %d %s", res.Status, res.Body)
	}
	member := fmt.Sprintf("/api/v1/organizations/%d/members/%d", e.team.OrgID, e.team.Admin.ID)
	e.Must(200, apptest.Req{Method: "PATCH", Path: member, Token: e.team.Owner.Token, Body: map[string]any{"role": "member"}})
	apptest.WantProblem(t, e.withKey(adminKey.Token, "PATCH", settings, map[string]any{"name": "Again"}), 403, "forbidden")
	org := e.withKey(adminKey.Token, "GET", settings, nil)
	if org.Status != 200 || org.JSON()["role"] != "member" {
		t.Fatalf("demoted creator's admin key: %d %s", org.Status, org.Body)
	}
	// Promoted back, the key has its own role again.
	e.Must(200, apptest.Req{Method: "PATCH", Path: member, Token: e.team.Owner.Token, Body: map[string]any{"role": "admin"}})
	e.Must(200, apptest.Req{Method: "PATCH", Path: settings, Token: adminKey.Token, Body: map[string]any{"name": "Back"}})

	e.Must(204, apptest.Req{Method: "DELETE", Path: member, Token: e.team.Owner.Token})
	for _, k := range []created{adminKey, managerKey} {
		apptest.WantProblem(t, e.withKey(k.Token, "GET", "/api/v1/contacts", nil), 401, "invalid_api_key")
	}
	keys := e.list()
	if keys[adminKey.ID]["revoked_at"] == nil || keys[managerKey.ID]["revoked_at"] == nil {
		t.Fatalf("keys of the removed member are not revoked: %v", keys)
	}
	if keys[ownersKey.ID]["revoked_at"] != nil {
		t.Fatalf("the owner's key was revoked too: %v", keys[ownersKey.ID])
	}
	e.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: ownersKey.Token})
	// Coming back does not bring the keys back.
	e.AddMember(e.team.Owner, e.team.OrgID, e.team.Admin, "admin")
	apptest.WantProblem(t, e.withKey(adminKey.Token, "GET", "/api/v1/contacts", nil), 401, "invalid_api_key")
}

// A key whose creator's membership is gone without a removal (the row deleted below the
// service) is orphaned: refused, not acting for a stranger.
func TestOrphanedKeyIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(e.team.Admin, "member", nil)
	if _, err := e.sql.Exec(context.Background(), `DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2`,
		e.team.OrgID, e.team.Admin.ID); err != nil {
		t.Fatal(err)
	}
	apptest.WantProblem(t, e.withKey(k.Token, "GET", "/api/v1/contacts", nil), 401, "invalid_api_key")
}

// last_used_at is written in batches: a request through a key shows in the list once the
// batch is flushed, and not by a write of its own.
func TestLastUsedIsWrittenByTheFlush(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(e.team.Owner, "member", nil)
	before := time.Now().UTC().Truncate(time.Second)
	e.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: k.Token})
	if used := e.list()[k.ID]["last_used_at"]; used != nil {
		t.Fatalf("last_used_at %v before any flush: a request wrote it", used)
	}
	if err := apptest.ModuleOf[*apikeys.Module](e.Server).Service().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	used, _ := e.list()[k.ID]["last_used_at"].(string)
	at, err := time.Parse(time.RFC3339, used)
	if err != nil || at.Before(before) || at.After(time.Now().Add(time.Second)) {
		t.Fatalf("last_used_at %q after the flush (request at %s)", used, before)
	}
	// Close (the shutdown hook) writes what is left too.
	e.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: k.Token})
	if err := e.App.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.sql.QueryRow(context.Background(), `SELECT count(*) FROM api_keys WHERE id = $1 AND last_used_at IS NOT NULL`, k.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after Close: %d (%v)", n, err)
	}
}

// Each key has its own fixed window of API_KEY_RATE_LIMIT requests a minute, reported on every
// answer; over it, 429 rate_limited with Retry-After.
func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config()
	cfg.APIKeyRateLimit = 3
	e := newEnvWith(t, apptest.NewWith(t, cfg))
	a, b := e.create(e.team.Owner, "member", nil), e.create(e.team.Owner, "member", nil)
	header := func(res apptest.Response, name string) int {
		t.Helper()
		v, err := strconv.Atoi(res.Header.Get(name))
		if err != nil {
			t.Fatalf("%s %q: %v", name, res.Header.Get(name), err)
		}
		return v
	}
	for i := range 3 {
		res := e.withKey(a.Token, "GET", "/api/v1/contacts", nil)
		if res.Status != 200 || header(res, "RateLimit-Limit") != 3 || header(res, "RateLimit-Remaining") != 2-i {
			t.Fatalf("request %d: %d %v", i+1, res.Status, res.Header)
		}
		if r := header(res, "RateLimit-Reset"); r < 1 || r > 60 {
			t.Fatalf("RateLimit-Reset %d", r)
		}
	}
	over := e.withKey(a.Token, "GET", "/api/v1/contacts", nil)
	apptest.WantProblem(t, over, 429, "rate_limited")
	if ra := header(over, "Retry-After"); ra < 1 || ra > 60 || header(over, "RateLimit-Remaining") != 0 || header(over, "RateLimit-Limit") != 3 {
		t.Fatalf("429 headers %v", over.Header)
	}
	// Errors are answers to the key too.
	if res := e.withKey(b.Token, "GET", "/api/v1/contacts/999999", nil); res.Status != 404 || header(res, "RateLimit-Remaining") != 2 {
		t.Fatalf("another key's own window: %d %v", res.Status, res.Header)
	}
	// People are not limited this way.
	if res := e.Do(apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: e.team.Owner.Token, Org: e.team.OrgID}); res.Status != 200 || res.Header.Get("RateLimit-Limit") != "" {
		t.Fatalf("person: %d %v", res.Status, res.Header)
	}
}

// Idempotency keys of an API key and of its creator live apart: the same Idempotency-Key
// sent by both creates two records, and each replays only its own.
func TestIdempotencyIsScopedToTheKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(e.team.Owner, "member", nil)
	other := e.create(e.team.Owner, "member", nil)
	send := func(token string, org int64) apptest.Response {
		return e.Do(apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: token, Org: org,
			Body: map[string]any{"name": "Same"}, Headers: map[string]string{"Idempotency-Key": "shared"}})
	}
	viaKey := send(k.Token, 0)
	viaPerson := send(e.team.Owner.Token, e.team.OrgID)
	viaOther := send(other.Token, 0)
	if viaKey.Status != 201 || viaPerson.Status != 201 || viaOther.Status != 201 || viaPerson.Header.Get("Idempotent-Replayed") != "" ||
		viaOther.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("key %d / person %d %v / other key %d", viaKey.Status, viaPerson.Status, viaPerson.Header, viaOther.Status)
	}
	ids := map[any]bool{viaKey.JSON()["id"]: true, viaPerson.JSON()["id"]: true, viaOther.JSON()["id"]: true}
	if len(ids) != 3 {
		t.Fatalf("one Idempotency-Key, three callers, ids %v", ids)
	}
	again := send(k.Token, 0)
	if again.Header.Get("Idempotent-Replayed") != "true" || again.JSON()["id"] != viaKey.JSON()["id"] {
		t.Fatalf("the key's retry: %d %s %v", again.Status, again.Body, again.Header)
	}
	// Row-level security keeps them apart too: the creator's own scope sees only their record,
	// each key's scope only its own.
	seen := func(ctx context.Context) string {
		t.Helper()
		var ids string
		if err := e.App.DB.Q(ctx).QueryRow(ctx, `SELECT coalesce(string_agg(api_key_id::text, ',' ORDER BY api_key_id), '')
			FROM idempotency_keys`).Scan(&ids); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	person := database.WithTenant(database.WithUser(context.Background(), e.team.Owner.ID), e.team.OrgID)
	if got := seen(person); got != "0" {
		t.Fatalf("the creator's scope sees the records of keys %q, want only its own (0)", got)
	}
	if got := seen(database.WithAPIKey(person, k.ID)); got != fmt.Sprint(k.ID) {
		t.Fatalf("the key's scope sees the records of keys %q, want only %d", got, k.ID)
	}
	if _, err := e.App.DB.Q(person).Exec(person, `INSERT INTO idempotency_keys (user_id, organization_id, api_key_id, key, request_hash)
		VALUES ($1, $2, $3, 'forged', '\x00')`, e.team.Owner.ID, e.team.OrgID, k.ID); err == nil {
		t.Fatal("the creator's scope wrote a record into the key's space")
	}
}

// Creating and revoking a key write api_key.created and api_key.revoked, listed to owners and
// admins only, with the key as the list renders it and never its token or hash; a key revoked
// because its creator left has the system as its actor.
func TestKeyEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(e.team.Owner, "member", nil)
	e.Must(204, apptest.Req{Method: "DELETE", Path: keysPath(e.team.OrgID, fmt.Sprint("/", k.ID)), Token: e.team.Admin.Token})
	left := e.create(e.team.Admin, "manager", nil)
	e.Must(204, apptest.Req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/organizations/%d/members/%d", e.team.OrgID, e.team.Admin.ID),
		Token: e.team.Owner.Token})

	rows, err := e.sql.Query(context.Background(), `SELECT type, actor_type, coalesce(actor_id, 0), audience, data::text
		FROM events WHERE organization_id = $1 AND type LIKE 'api_key.%' ORDER BY id`, e.team.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		typ, actor string
		actorID    int64
		audience   int16
		data       string
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (event, error) {
		var ev event
		return ev, r.Scan(&ev.typ, &ev.actor, &ev.actorID, &ev.audience, &ev.data)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ, actor string
		actorID    int64
		key        created
	}{
		{"api_key.created", "user", e.team.Owner.ID, k},
		{"api_key.revoked", "user", e.team.Admin.ID, k},
		{"api_key.created", "user", e.team.Admin.ID, left},
		{"api_key.revoked", "system", 0, left},
	}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.typ != w.typ || g.actor != w.actor || g.actorID != w.actorID || g.audience != 1 {
			t.Errorf("event %d: %+v, want %s by %s %d for managers", i, g, w.typ, w.actor, w.actorID)
		}
		if !strings.Contains(g.data, fmt.Sprintf(`"object":{"object":"api_key","id":%d,`, w.key.ID)) ||
			!strings.Contains(g.data, `"prefix":"`+w.key.Token[4:12]+`"`) {
			t.Errorf("event %d data %s", i, g.data)
		}
		sum := sha256.Sum256([]byte(w.key.Token))
		if strings.Contains(g.data, w.key.Token[4:]) || strings.Contains(g.data, "token") || strings.Contains(g.data, fmt.Sprintf("%x", sum[:8])) {
			t.Errorf("event %d carries the token or its hash: %s", i, g.data)
		}
		if revoked := strings.Contains(g.data, `"revoked_at":null`); revoked == (w.typ == "api_key.revoked") {
			t.Errorf("event %d revoked_at: %s", i, g.data)
		}
	}
}

// Work done later for a key (a job it started) asks the facade whether the key still acts, and
// with which role.
func TestActingRoleForLaterWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := apptest.ModuleOf[*apikeys.Module](e.Server).Service()
	admin, other := e.create(e.team.Admin, "admin", nil), e.create(e.team.Owner, "manager", nil)
	ctx := apptest.Acting(context.Background(), auth.Principal{UserID: e.team.Owner.ID, OrgID: e.team.OrgID, Role: auth.RoleOwner})
	role := func(id int64) (string, error) { return svc.ActingRole(ctx, e.team.OrgID, id) }
	if r, err := role(admin.ID); err != nil || r != "admin" {
		t.Fatalf("admin key: %q %v", r, err)
	}
	member := fmt.Sprintf("/api/v1/organizations/%d/members/%d", e.team.OrgID, e.team.Admin.ID)
	e.Must(200, apptest.Req{Method: "PATCH", Path: member, Token: e.team.Owner.Token, Body: map[string]any{"role": "manager"}})
	if r, err := role(admin.ID); err != nil || r != "manager" {
		t.Fatalf("admin key of a demoted creator: %q %v", r, err)
	}
	e.Must(204, apptest.Req{Method: "DELETE", Path: keysPath(e.team.OrgID, fmt.Sprint("/", other.ID)), Token: e.team.Owner.Token})
	if _, err := e.sql.Exec(context.Background(), `DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2`,
		e.team.OrgID, e.team.Admin.ID); err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]int64{"revoked": other.ID, "orphaned": admin.ID, "unknown": 999999} {
		if r, err := role(id); !errors.Is(err, auth.ErrInvalidAPIKey) {
			t.Errorf("%s key: %q %v, want invalid_api_key", name, r, err)
		}
	}
}

// With REDIS_URL every replica counts a key's requests in one window: the limit holds across
// them. (Skipped when no Redis answers, except in CI.)
func TestRateLimitSharedThroughRedis(t *testing.T) {
	redisURL := testdb.Redis(t, 0)
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	cfg := apptest.Config()
	cfg.RedisURL, cfg.APIKeyRateLimit = redisURL, 3
	e := newEnvWith(t, apptest.NewWith(t, cfg))
	replica, err := app.New(cfg, slog.New(slog.DiscardHandler), e.App.DB, app.Options{HashParams: apptest.FastHash})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = replica.Close(context.Background()) })
	other := &apptest.Server{T: t, App: replica}
	k := e.create(e.team.Owner, "member", nil)
	// Key ids restart in every test database: forget what an earlier run counted for this one.
	if err := rc.Del(context.Background(), fmt.Sprintf("crm:api-key:%d", k.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	req := apptest.Req{Method: "GET", Path: "/api/v1/contacts", Token: k.Token}
	e.Must(200, req)
	e.Must(200, req)
	if res := other.Must(200, req); res.Header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("third request, on the replica: remaining %q", res.Header.Get("RateLimit-Remaining"))
	}
	apptest.WantProblem(t, e.Do(req), 429, "rate_limited")
}
