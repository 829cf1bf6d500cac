package webhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/webhooks"
	"github.com/mini-crm/crm/platform/auth"
)

type env struct {
	*apptest.Server
	team apptest.Team
}

func newEnv(t *testing.T) env {
	s := apptest.New(t)
	return env{Server: s, team: s.NewTeam()}
}

func (e env) as(u apptest.User, method, path string, body any) apptest.Response {
	e.T.Helper()
	return e.Do(apptest.Req{Method: method, Path: path, Body: body, Token: u.Token, Org: e.team.OrgID})
}

func (e env) must(want int, u apptest.User, method, path string, body any) map[string]any {
	e.T.Helper()
	res := e.as(u, method, path, body)
	if res.Status != want {
		e.T.Fatalf("%s %s: status %d, want %d; body %s", method, path, res.Status, want, res.Body)
	}
	return res.JSON()
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

func hookPath(id int64, rest ...string) string {
	return fmt.Sprintf("/api/v1/webhooks/%d", id) + strings.Join(rest, "")
}

func fields(m map[string]any) []string { return apptest.ProblemFields(m) }

func TestEndpointLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	res := e.as(owner, "POST", "/api/v1/webhooks", map[string]any{"url": " https://example.com/hooks ", "events": []string{"deal.updated", "contact.created"},
		"description": "CRM sync"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	created := res.JSON()
	secret, _ := created["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || len(secret) < len("whsec_")+32 {
		t.Fatalf("secret %q", secret)
	}
	hid := id(created)
	if res.Header.Get("Location") != hookPath(hid) || created["url"] != "https://example.com/hooks" || created["enabled"] != true ||
		created["disabled_reason"] != nil || created["description"] != "CRM sync" {
		t.Fatalf("created %s (Location %q)", res.Body, res.Header.Get("Location"))
	}
	got := e.as(owner, "GET", hookPath(hid), nil)
	if got.Status != 200 || bytes.Contains(got.Body, []byte("secret")) || bytes.Contains(got.Body, []byte(secret[6:])) {
		t.Fatalf("get: %d %s", got.Status, got.Body)
	}
	list := e.must(200, e.team.Admin, "GET", "/api/v1/webhooks", nil)
	items := list["items"].([]any)
	if len(items) != 1 || list["total"] != float64(1) || bytes.Contains(e.as(owner, "GET", "/api/v1/webhooks", nil).Body, []byte("secret")) {
		t.Fatalf("list %v", list)
	}
	// PATCH: events, description cleared, disabled with a reason, then enabled again.
	p := e.must(200, owner, "PATCH", hookPath(hid), map[string]any{"events": []string{"*"}, "description": nil, "enabled": false})
	if p["description"] != nil || p["enabled"] != false || p["disabled_reason"] != webhooks.DisabledByUser ||
		!slices.Equal(toStrings(p["events"]), []string{"*"}) {
		t.Fatalf("patched %v", p)
	}
	p = e.must(200, owner, "PATCH", hookPath(hid), map[string]any{"enabled": true, "url": "http://example.org/x"})
	if p["enabled"] != true || p["disabled_reason"] != nil || p["url"] != "http://example.org/x" {
		t.Fatalf("re-enabled %v", p)
	}
	for _, bad := range []map[string]any{{"url": nil}, {"events": nil}, {"enabled": nil}, {"secret": "x"}} {
		if r := e.as(owner, "PATCH", hookPath(hid), bad); r.Status != 400 {
			t.Errorf("PATCH %v: %d %s", bad, r.Status, r.Body)
		}
	}
	// Rotation answers a new secret; the old one keeps signing beside it.
	rot := e.must(200, owner, "POST", hookPath(hid, "/rotate-secret"), nil)
	if s2, _ := rot["secret"].(string); !strings.HasPrefix(s2, "whsec_") || s2 == secret || len(rot) != 1 {
		t.Fatalf("rotate: %v", rot)
	}
	// rotate-secret honours Idempotency-Key: a replay answers the same secret and rotates nothing.
	key := map[string]string{"Idempotency-Key": "rotate-1"}
	r1 := e.Must(200, apptest.Req{Method: "POST", Path: hookPath(hid, "/rotate-secret"), Token: owner.Token, Org: e.team.OrgID, Headers: key})
	r2 := e.Must(200, apptest.Req{Method: "POST", Path: hookPath(hid, "/rotate-secret"), Token: owner.Token, Org: e.team.OrgID, Headers: key})
	if !bytes.Equal(r1.Body, r2.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replayed rotation: %s / %s %v", r1.Body, r2.Body, r2.Header)
	}
	e.must(204, owner, "DELETE", hookPath(hid), nil)
	for _, m := range []string{"GET", "DELETE"} {
		apptest.WantProblem(t, e.as(owner, m, hookPath(hid), nil), 404, "webhook_not_found")
	}
	apptest.WantProblem(t, e.as(owner, "POST", hookPath(hid, "/rotate-secret"), nil), 404, "webhook_not_found")
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// Only owners and admins manage webhooks: managers and members get 403 on every route.
func TestOnlyOwnersAndAdminsManageWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hid := id(e.must(201, e.team.Owner, "POST", "/api/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": []string{"*"}}))
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/webhooks", nil},
		{"POST", "/api/v1/webhooks", map[string]any{"url": "https://example.com/m", "events": []string{"*"}}},
		{"GET", hookPath(hid), nil},
		{"POST", hookPath(hid, "/ping"), nil},
		{"GET", hookPath(hid, "/deliveries"), nil},
		{"POST", hookPath(hid, "/deliveries/1/retry"), nil},
		{"PATCH", hookPath(hid), map[string]any{"description": "x"}},
		{"DELETE", hookPath(hid), nil},
		{"POST", hookPath(hid, "/rotate-secret"), nil},
	}
	for _, role := range []string{"manager", "member"} {
		for _, r := range routes {
			apptest.WantProblem(t, e.as(e.team.As(role), r.method, r.path, r.body), 403, "forbidden")
		}
	}
	// API keys are refused on every webhook route, whatever their role: a key must not be able
	// to send the organization's data somewhere.
	key := e.Must(201, apptest.Req{Method: "POST", Path: fmt.Sprintf("/api/v1/organizations/%d/api-keys", e.team.OrgID),
		Token: e.team.Owner.Token, Body: map[string]any{"name": "sync", "role": "admin"}}).JSON()["token"].(string)
	for _, r := range routes {
		apptest.WantProblem(t, e.Do(apptest.Req{Method: r.method, Path: r.path, Body: r.body, Token: key}), 403, "api_key_not_allowed")
	}
	e.must(200, e.team.Admin, "PATCH", hookPath(hid), map[string]any{"description": "by admin"})
	e.must(201, e.team.Admin, "POST", "/api/v1/webhooks", map[string]any{"url": "https://example.com/a", "events": []string{"*"}})
}

// Destinations that are, or resolve to, non-public addresses are refused when saved, on create
// and on PATCH; so are URLs of another scheme, with user info or too long.
func TestSaveTimeDestinationRules(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config()
	cfg.WebhookAllowPrivate = false
	s := apptest.NewWith(t, cfg)
	e := env{Server: s, team: s.NewTeam()}
	owner := e.team.Owner
	hid := id(e.must(201, owner, "POST", "/api/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": []string{"*"}}))
	for _, u := range []string{"http://127.0.0.1/", "http://127.1.2.3:8080/x", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
		"http://10.0.0.1/", "http://10.20.30.40/", "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/",
		"http://[fd00::1]/", "http://localhost:8080/", "http://LOCALHOST./", "http://0.0.0.0/", "http://192.168.1.1/",
		"http://[fe80::1]/", "http://224.0.0.1/", "http://[64:ff9b::a00:1]/", "http://[2002:a00:1::]/"} {
		m := apptest.WantProblem(t, e.as(owner, "POST", "/api/v1/webhooks", map[string]any{"url": u, "events": []string{"*"}}), 400, "webhook_url_not_allowed")
		if !slices.Equal(fields(m), []string{"url"}) {
			t.Errorf("%s: fields %v", u, fields(m))
		}
		apptest.WantProblem(t, e.as(owner, "PATCH", hookPath(hid), map[string]any{"url": u}), 400, "webhook_url_not_allowed")
	}
	for _, u := range []string{"ftp://example.com/", "example.com", "https://user:pass@example.com/", "https://" + strings.Repeat("a", 2048) + ".com/", ""} {
		m := apptest.WantProblem(t, e.as(owner, "POST", "/api/v1/webhooks", map[string]any{"url": u, "events": []string{"*"}}), 400, "validation_failed")
		if !slices.Equal(fields(m), []string{"url"}) {
			t.Errorf("%q: fields %v", u, fields(m))
		}
	}
	// A name that does not resolve at save time is accepted; the dial-time check decides.
	e.must(201, owner, "POST", "/api/v1/webhooks", map[string]any{"url": "https://does-not-resolve.invalid/h", "events": []string{"*"}})
	// WEBHOOK_ALLOW_PRIVATE_NETWORKS=true (the test configuration) lifts the rule.
	open := newEnv(t)
	open.must(201, open.team.Owner, "POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/h", "events": []string{"*"}})
}

func TestEventsAreKnownTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	m := apptest.WantProblem(t, e.as(owner, "POST", "/api/v1/webhooks", map[string]any{"url": "ftp://x", "events": []string{"deal.updated", "deal.exploded", "webhook.ping"}}), 400, "validation_failed")
	if !slices.Equal(fields(m), []string{"url", "events"}) || !strings.Contains(string(e.as(owner, "POST", "/api/v1/webhooks",
		map[string]any{"url": "https://example.com/", "events": []string{"deal.exploded"}}).Body), "deal.exploded") {
		t.Fatalf("problem %v", m)
	}
	for _, ev := range []any{[]string{}, []string{"*", "deal.updated"}, nil, "deal.updated"} {
		if r := e.as(owner, "POST", "/api/v1/webhooks", map[string]any{"url": "https://example.com/", "events": ev}); r.Status != 400 {
			t.Errorf("events %v: %d %s", ev, r.Status, r.Body)
		}
	}
	for _, ev := range webhooks.EventTypes {
		if r := e.as(owner, "PATCH", "/api/v1/webhooks/1", map[string]any{"events": []string{ev}}); r.Status == 400 {
			t.Errorf("%s refused: %s", ev, r.Body)
		}
	}
}

// An organization has at most WEBHOOK_MAX_ENDPOINTS endpoints: one more is 409
// webhook_limit_reached, and deleting one makes room again.
func TestEndpointLimit(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config()
	cfg.WebhookMaxEndpoints = 2
	s := apptest.NewWith(t, cfg)
	e := env{Server: s, team: s.NewTeam()}
	body := map[string]any{"url": "https://example.com/h", "events": []string{"*"}}
	first := id(e.must(201, e.team.Owner, "POST", "/api/v1/webhooks", body))
	e.must(201, e.team.Owner, "POST", "/api/v1/webhooks", body)
	apptest.WantProblem(t, e.as(e.team.Owner, "POST", "/api/v1/webhooks", body), 409, "webhook_limit_reached")
	// Another organization has its own allowance.
	e.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/webhooks", Body: body, Token: e.team.Outsider.Token, Org: e.team.Outsider.OrgID})
	e.must(204, e.team.Owner, "DELETE", hookPath(first), nil)
	e.must(201, e.team.Owner, "POST", "/api/v1/webhooks", body)
}

// Rotation: the new secret and the one it replaced both sign for 24 hours, then only the new
// one; rotating again while two are valid drops the older. Secrets are stored encrypted.
func TestSecretRotation(t *testing.T) {
	t.Parallel()
	clock := apptest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	s := apptest.NewWithClock(t, apptest.Config(), clock)
	e := env{Server: s, team: s.NewTeam()}
	owner := e.team.Owner
	created := e.must(201, owner, "POST", "/api/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": []string{"*"}})
	hid, first := id(created), created["secret"].(string)
	svc := apptest.ModuleOf[*webhooks.Module](s).Service()
	ctx := apptest.Acting(context.Background(), auth.Principal{UserID: owner.ID, OrgID: e.team.OrgID, Role: auth.RoleOwner})
	secrets := func() []string {
		t.Helper()
		got, err := svc.SigningSecrets(ctx, hid)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := secrets(); !slices.Equal(got, []string{first}) {
		t.Fatalf("before rotation %v", got)
	}
	second := e.must(200, owner, "POST", hookPath(hid, "/rotate-secret"), nil)["secret"].(string)
	if got := secrets(); !slices.Equal(got, []string{second, first}) {
		t.Fatalf("after rotation %v", got)
	}
	clock.Advance(23 * time.Hour)
	third := e.must(200, owner, "POST", hookPath(hid, "/rotate-secret"), nil)["secret"].(string)
	if got := secrets(); !slices.Equal(got, []string{third, second}) {
		t.Fatalf("second rotation within 24 h: %v, want the oldest dropped", got)
	}
	clock.Advance(24*time.Hour + time.Second)
	if got := secrets(); !slices.Equal(got, []string{third}) {
		t.Fatalf("after 24 h: %v", got)
	}
	var stored []byte
	if err := s.App.DB.Q(ctx).QueryRow(ctx, `SELECT secret || coalesce(previous_secret, '') FROM webhook_endpoints WHERE id = $1`, hid).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{third, second} {
		if bytes.Contains(stored, []byte(sec)) || bytes.Contains(stored, []byte(sec[6:])) {
			t.Fatal("a secret is stored in the clear")
		}
	}
}

// The delivery log is kept as long as the events: finished deliveries older than
// EVENT_RETENTION are removed, pending ones stay until they end.
func TestFinishedDeliveriesArePurgedAfterTheRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	hid := id(e.must(201, owner, "POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/h", "events": []string{"deal.updated"}}))
	done := id(e.must(202, owner, "POST", hookPath(hid, "/ping"), nil))
	e.must(202, owner, "POST", hookPath(hid, "/ping"), nil)
	ctx := apptest.Acting(context.Background(), auth.Principal{UserID: owner.ID, OrgID: e.team.OrgID, Role: auth.RoleOwner})
	if _, err := e.App.DB.Q(ctx).Exec(ctx, `UPDATE webhook_deliveries SET status = 'failed' WHERE id = $1`, done); err != nil {
		t.Fatal(err)
	}
	svc := apptest.ModuleOf[*webhooks.Module](e.Server).Service()
	if n, err := svc.PurgeDeliveries(context.Background()); err != nil || n != 0 {
		t.Fatalf("within the retention: purged %d (%v)", n, err)
	}
	svc.SetClock(func() time.Time { return time.Now().Add(e.App.Config.EventRetention + time.Hour) })
	if n, err := svc.PurgeDeliveries(context.Background()); err != nil || n != 1 {
		t.Fatalf("after the retention: purged %d (%v)", n, err)
	}
	items := e.must(200, owner, "GET", hookPath(hid, "/deliveries"), nil)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["status"] != "pending" {
		t.Fatalf("left %v", items)
	}
}

// Ping and retry honour Idempotency-Key like every POST: a replay answers the same delivery
// and sends nothing more.
func TestPingAndRetryReplayWithTheirKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	hid := id(e.must(201, owner, "POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/h", "events": []string{"deal.updated"}}))
	send := func(path, key string) apptest.Response {
		return e.Must(202, apptest.Req{Method: "POST", Path: path, Token: owner.Token, Org: e.team.OrgID,
			Headers: map[string]string{"Idempotency-Key": key}})
	}
	first, again := send(hookPath(hid, "/ping"), "ping-1"), send(hookPath(hid, "/ping"), "ping-1")
	if !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("ping replay: %s / %s", first.Body, again.Body)
	}
	did := id(first.JSON())
	retry := hookPath(hid, fmt.Sprintf("/deliveries/%d/retry", did))
	r1, r2 := send(retry, "retry-1"), send(retry, "retry-1")
	if !bytes.Equal(r1.Body, r2.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry replay: %s / %s", r1.Body, r2.Body)
	}
	if items := e.must(200, owner, "GET", hookPath(hid, "/deliveries"), nil)["items"].([]any); len(items) != 1 {
		t.Fatalf("%d deliveries after two pings with one key", len(items))
	}
}
