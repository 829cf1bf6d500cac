package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/platform/database"
)

// Every table that carries organization_id is under row-level security that the service
// cannot escape: enabled and forced, with a policy on the current organization, and the
// service's role is no superuser, cannot bypass RLS and owns no table.
func TestEveryTenantTableIsUnderRowLevelSecurity(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	ctx := context.Background()
	q := s.App.DB.Pool
	var user string
	var super, bypass bool
	if err := q.QueryRow(ctx, `SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&user, &super, &bypass); err != nil {
		t.Fatal(err)
	}
	if user != database.AppRole || super || bypass {
		t.Fatalf("the service runs as %s (superuser %v, bypassrls %v)", user, super, bypass)
	}
	rows, err := q.Query(ctx, `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner),
		       coalesce((SELECT string_agg(coalesce(p.qual, '') || ' / ' || coalesce(p.with_check, ''), ' | ')
		                 FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname), '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r'
		  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped)
		ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name, owner, policies string
		var enabled, forced bool
		if err := rows.Scan(&name, &enabled, &forced, &owner, &policies); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
		if !enabled || !forced || owner == database.AppRole || !strings.Contains(policies, "current_organization_id()") {
			t.Errorf("table %s: rls %v, forced %v, owner %s, policies %q", name, enabled, forced, owner, policies)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"contacts", "deals", "activities", "tasks", "organization_members", "idempotency_keys", "api_keys", "pipelines", "pipeline_stages"} {
		if !strings.Contains(","+strings.Join(tables, ",")+",", ","+want+",") {
			t.Errorf("tenant table %s not found among %v", want, tables)
		}
	}
}

// The idempotency keys' rows are under row-level security too: the service's role sees and
// writes only the keys of the user and organization it acts for, whatever its statements say.
func TestIdempotencyKeysAreVisibleOnlyToTheirCaller(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	for _, u := range []apptest.User{team.Owner, team.Outsider} {
		s.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: u.Token, Org: u.OrgID,
			Body: map[string]any{"name": "Ann"}, Headers: map[string]string{"Idempotency-Key": "same-key"}})
	}
	ctx := context.Background()
	q := s.App.DB
	seen := func(ctx context.Context) []string {
		t.Helper()
		rows, err := q.Q(ctx).Query(ctx, `SELECT user_id || '/' || organization_id FROM idempotency_keys ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	owner := database.WithUser(database.WithTenant(ctx, team.OrgID), team.Owner.ID)
	if got, want := fmt.Sprint(seen(owner)), fmt.Sprintf("[%d/%d]", team.Owner.ID, team.OrgID); got != want {
		t.Fatalf("the owner's scope sees keys %s, want %s", got, want)
	}
	if got := seen(ctx); len(got) != 0 {
		t.Fatalf("an unscoped statement sees keys %v, want none", got)
	}
	_, err := q.Q(owner).Exec(owner, `INSERT INTO idempotency_keys (user_id, organization_id, key, request_hash)
		VALUES ($1, $2, 'forged', '\x00')`, team.Outsider.ID, team.Outsider.OrgID)
	if err == nil {
		t.Fatal("a key of another user and organization was written under the owner's scope")
	}
}

// Every POST that creates something honours Idempotency-Key: the same key and body replay
// the first answer and create nothing more; the same key with another body is a 422. The
// list comes from the route table, so a new creating route cannot escape it.
func TestEveryCreatingRouteIsIdempotent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	notCreating := map[string]bool{
		"/api/v1/auth/login": true, "/api/v1/auth/refresh": true, "/api/v1/auth/logout": true, "/api/v1/users/me/password": true,
		// Keyed like every POST, but answering 200 or 202 (the webhooks tests replay a rotation).
		"/api/v1/webhooks/:id/rotate-secret": true, "/api/v1/webhooks/:id/ping": true,
		"/api/v1/webhooks/:id/deliveries/:delivery_id/retry": true,
		// Joins an organization and answers 200 (the invitations tests replay an accept).
		"/api/v1/invitations/accept": true,
		// Answers 200 with the surviving contact (the contacts tests replay a merge).
		"/api/v1/contacts/:id/merge": true,
		// Answers 200 with the restored record (the e2e story of the trash replays a restore).
		"/api/v1/trash/:type/:id/restore": true,
		// Answers 202 with the queued import (the imports tests replay an import).
		"/api/v1/imports": true,
	}
	uniq := time.Now().UnixNano()
	bodies := map[string]func(i int) any{
		"/api/v1/auth/register": func(i int) any {
			return map[string]any{"email": fmt.Sprintf("idem%d.%d@example.com", uniq, i), "password": "password123", "name": "I", "organization_name": "O"}
		},
		"/api/v1/organizations": func(i int) any { return map[string]any{"name": fmt.Sprint("Org ", i)} },
		"/api/v1/organizations/:org_id/members": func(i int) any {
			return map[string]any{"email": w.s.Register(fmt.Sprint("new", i)).Email, "role": "member"}
		},
		"/api/v1/contacts": func(i int) any { return map[string]any{"name": fmt.Sprint("C", i)} },
		"/api/v1/deals": func(i int) any {
			return map[string]any{"contact_id": w.contact, "title": fmt.Sprint("D", i), "amount": 1}
		},
		"/api/v1/tasks": func(i int) any { return map[string]any{"deal_id": w.deal, "title": fmt.Sprint("T", i)} },
		"/api/v1/webhooks": func(i int) any {
			return map[string]any{"url": fmt.Sprintf("https://hooks.example.com/%d", i), "events": []string{"*"}}
		},
		"/api/v1/organizations/:org_id/invitations": func(i int) any {
			return map[string]any{"email": fmt.Sprintf("idem%d.%d@example.com", uniq, i), "role": "member"}
		},
		"/api/v1/organizations/:org_id/api-keys": func(i int) any {
			return map[string]any{"name": fmt.Sprint("Key ", i), "role": "member"}
		},
		"/api/v1/deals/:deal_id/activities": func(i int) any {
			return map[string]any{"type": "comment", "payload": map[string]any{"text": fmt.Sprint(i)}}
		},
		"/api/v1/pipelines": func(i int) any {
			return map[string]any{"name": fmt.Sprint("Pipeline ", i), "stages": []any{map[string]any{"key": "a"}}}
		},
		"/api/v1/pipelines/:id/stages": func(i int) any { return map[string]any{"key": fmt.Sprint("idem_", i)} },
	}
	seen := map[string]bool{}
	for _, r := range w.s.App.HTTP.GetRoutes(true) {
		if r.Method != "POST" || notCreating[r.Path] || !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		body, ok := bodies[r.Path]
		if !ok {
			t.Errorf("creating route POST %s has no case in the idempotency test", r.Path)
			continue
		}
		seen[r.Path] = true
		path := fill(r.Path, map[string]int64{"org_id": w.a, "deal_id": w.deal, "id": w.pipeline})
		t.Run(r.Path, func(t *testing.T) {
			key := fmt.Sprint("key-", uniq, r.Path)
			b1 := body(1)
			send := func(b any) apptest.Response {
				return w.s.Do(apptest.Req{Method: "POST", Path: path, Token: w.team.Owner.Token, Org: w.a, Body: b,
					Headers: map[string]string{"Idempotency-Key": key}})
			}
			first, again := send(b1), send(b1)
			if first.Status != 201 || again.Status != 201 || !jsonEqual(first.JSON(), again.JSON()) ||
				again.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Location") != again.Header.Get("Location") {
				t.Fatalf("first %d %s / again %d %s %v", first.Status, first.Body, again.Status, again.Body, again.Header)
			}
			if other := send(body(2)); other.Status != 422 || other.Code() != "idempotency_key_reused" {
				t.Fatalf("another body: %d %s", other.Status, other.Body)
			}
		})
	}
	for p := range bodies {
		if !seen[p] {
			t.Errorf("case %s matches no creating route", p)
		}
	}
}

// A password change creates nothing and its body holds passwords: it does not honour
// Idempotency-Key, so no fingerprint of that body is kept, and sending it again is a new
// request (refused, since the current password has changed).
func TestPasswordChangeIgnoresIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	u := s.Register("pw")
	send := func() apptest.Response {
		return s.Do(apptest.Req{Method: "POST", Path: "/api/v1/users/me/password", Token: u.Token,
			Body:    map[string]any{"current_password": "password123", "new_password": "password456"},
			Headers: map[string]string{"Idempotency-Key": "pw-key"}})
	}
	if first := send(); first.Status != 204 {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	again := send()
	if again.Header.Get("Idempotent-Replayed") != "" || again.Status != 401 || again.Code() != "invalid_credentials" {
		t.Fatalf("again: %d %s %v", again.Status, again.Body, again.Header)
	}
	var n int
	mine := database.WithUser(context.Background(), u.ID) // the scope the user's keys live in
	if err := s.App.DB.Q(mine).QueryRow(mine, `SELECT count(*) FROM idempotency_keys`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d idempotency records (%v)", n, err)
	}
}
