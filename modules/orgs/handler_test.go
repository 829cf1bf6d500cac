package orgs_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func orgPath(id int64, rest string) string {
	return fmt.Sprintf("/api/v1/organizations/%d%s", id, rest)
}

func TestRegisterGivesOwnerOrganization(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	res := s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{
		"email": "bob@example.com", "password": "password123", "name": "Bob", "organization_name": "Bob Inc"}})
	body := res.JSON()
	org := body["organization"].(map[string]any)
	if org["role"] != "owner" || org["name"] != "Bob Inc" || org["default_currency"] != "USD" {
		t.Fatalf("organization %v", org)
	}
	if body["token_type"] != "Bearer" || body["expires_in"].(float64) != 900 || body["user"].(map[string]any)["email"] != "bob@example.com" {
		t.Fatalf("register body %v", body)
	}
	for _, bad := range []map[string]any{
		{"email": "not-an-email", "password": "password123", "name": "B", "organization_name": "O"},
		{"email": "c@example.com", "password": "short", "name": "B", "organization_name": "O"},
		{"email": "c@example.com", "password": "password123", "name": "", "organization_name": "O"},
		{"email": "c@example.com", "password": "password123", "name": "B"},
	} {
		res := s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/register", Body: bad})
		if res.Status != 400 || res.Code() != "validation_failed" {
			t.Errorf("%v: %d %s", bad, res.Status, res.Body)
		}
	}
	// A failed registration leaves nothing behind: the email is still free.
	s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{
		"email": "c@example.com", "password": "password123", "name": "C", "organization_name": "C Inc"}})
}

func TestOrganizationsLifecycle(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	u := s.Register("ann")

	res := s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/organizations", Token: u.Token,
		Body: map[string]any{"name": "Second", "default_currency": "EUR"}})
	second := res.JSON()
	id := int64(second["id"].(float64))
	if second["role"] != "owner" || second["default_currency"] != "EUR" || res.Header.Get("Location") != orgPath(id, "") {
		t.Fatalf("create: %v location %q", second, res.Header.Get("Location"))
	}
	s.Must(400, apptest.Req{Method: "POST", Path: "/api/v1/organizations", Token: u.Token, Body: map[string]any{"name": "X", "default_currency": "eur"}})
	s.Must(400, apptest.Req{Method: "POST", Path: "/api/v1/organizations", Token: u.Token, Body: map[string]any{"name": "X", "default_currency": "ABC"}})
	s.Must(401, apptest.Req{Method: "POST", Path: "/api/v1/organizations", Body: map[string]any{"name": "X"}})

	var mine []map[string]any
	s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/organizations/me", Token: u.Token}).Decode(t, &mine)
	if len(mine) != 2 || int64(mine[0]["id"].(float64)) != u.OrgID || int64(mine[1]["id"].(float64)) != id {
		t.Fatalf("mine: %v", mine)
	}

	got := s.Must(200, apptest.Req{Method: "GET", Path: orgPath(id, ""), Token: u.Token}).JSON()
	if got["name"] != "Second" {
		t.Fatalf("get: %v", got)
	}
	upd := s.Must(200, apptest.Req{Method: "PATCH", Path: orgPath(id, ""), Token: u.Token, Body: map[string]any{"name": " Renamed "}}).JSON()
	if upd["name"] != "Renamed" || upd["default_currency"] != "EUR" {
		t.Fatalf("patch: %v", upd)
	}
	res = s.Do(apptest.Req{Method: "PATCH", Path: orgPath(id, ""), Token: u.Token, Body: map[string]any{"id": 5}})
	if res.Status != 400 || res.Code() != "unknown_field" {
		t.Fatalf("mass assignment: %d %s", res.Status, res.Body)
	}
}

func TestRolesOnOrganizationSettings(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	for role, want := range map[string]int{"owner": 200, "admin": 200, "manager": 403, "member": 403, "outsider": 403} {
		res := s.Do(apptest.Req{Method: "PATCH", Path: orgPath(team.OrgID, ""), Token: team.As(role).Token, Body: map[string]any{"name": "By " + role}})
		if res.Status != want {
			t.Errorf("%s PATCH org: %d, want %d (%s)", role, res.Status, want, res.Body)
		}
		res = s.Do(apptest.Req{Method: "GET", Path: orgPath(team.OrgID, ""), Token: team.As(role).Token})
		if wantGet := map[bool]int{true: 403, false: 200}[role == "outsider"]; res.Status != wantGet {
			t.Errorf("%s GET org: %d, want %d", role, res.Status, wantGet)
		}
		res = s.Do(apptest.Req{Method: "GET", Path: orgPath(team.OrgID, "/members"), Token: team.As(role).Token})
		if wantGet := map[bool]int{true: 403, false: 200}[role == "outsider"]; res.Status != wantGet {
			t.Errorf("%s GET members: %d, want %d", role, res.Status, wantGet)
		}
	}
	// Not a member: 403 whether or not the organization exists, with the same body.
	a := s.Do(apptest.Req{Method: "GET", Path: orgPath(team.OrgID, ""), Token: team.Outsider.Token})
	b := s.Do(apptest.Req{Method: "GET", Path: orgPath(999999, ""), Token: team.Outsider.Token})
	if a.Status != 403 || b.Status != 403 || a.Code() != "not_a_member" || a.JSON()["detail"] != b.JSON()["detail"] {
		t.Fatalf("outsider: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
	}
}

func TestMembersManagement(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	newbie := s.Register("newbie")
	path := orgPath(team.OrgID, "/members")

	list := s.Must(200, apptest.Req{Method: "GET", Path: path + "?page_size=2", Token: team.Member.Token}).JSON()
	if list["total"].(float64) != 4 || len(list["items"].([]any)) != 2 || list["page_size"].(float64) != 2 {
		t.Fatalf("members list %v", list)
	}
	first := list["items"].([]any)[0].(map[string]any)
	if first["role"] != "owner" || first["email"] != team.Owner.Email || first["joined_at"] == nil {
		t.Fatalf("first member %v", first)
	}

	// Who may add whom.
	for _, c := range []struct {
		actor, role string
		status      int
		code        string
	}{
		{"manager", "member", 403, "forbidden"},
		{"member", "member", 403, "forbidden"},
		{"admin", "owner", 403, "owner_role_required"},
	} {
		res := s.Do(apptest.Req{Method: "POST", Path: path, Token: team.As(c.actor).Token, Body: map[string]any{"email": newbie.Email, "role": c.role}})
		if res.Status != c.status || res.Code() != c.code {
			t.Errorf("%s adds %s: %d %s", c.actor, c.role, res.Status, res.Body)
		}
	}
	res := s.Do(apptest.Req{Method: "POST", Path: path, Token: team.Admin.Token, Body: map[string]any{"email": "nobody@example.com", "role": "member"}})
	if res.Status != 404 || res.Code() != "user_not_found" {
		t.Fatalf("unknown email: %d %s", res.Status, res.Body)
	}
	res = s.Do(apptest.Req{Method: "POST", Path: path, Token: team.Admin.Token, Body: map[string]any{"email": newbie.Email, "role": "boss"}})
	if res.Status != 400 || res.JSON()["errors"].([]any)[0].(map[string]any)["field"] != "role" {
		t.Fatalf("bad role: %d %s", res.Status, res.Body)
	}
	added := s.Must(201, apptest.Req{Method: "POST", Path: path, Token: team.Admin.Token, Body: map[string]any{"email": newbie.Email, "role": "member"}}).JSON()
	if int64(added["user_id"].(float64)) != newbie.ID || added["role"] != "member" {
		t.Fatalf("added %v", added)
	}
	res = s.Do(apptest.Req{Method: "POST", Path: path, Token: team.Admin.Token, Body: map[string]any{"email": newbie.Email, "role": "member"}})
	if res.Status != 409 || res.Code() != "already_member" {
		t.Fatalf("twice: %d %s", res.Status, res.Body)
	}
	// The new member now sees the organization.
	s.Must(200, apptest.Req{Method: "GET", Path: orgPath(team.OrgID, ""), Token: newbie.Token})

	member := func(id int64) string { return fmt.Sprintf("%s/%d", path, id) }
	// Role changes.
	upd := s.Must(200, apptest.Req{Method: "PATCH", Path: member(newbie.ID), Token: team.Admin.Token, Body: map[string]any{"role": "manager"}}).JSON()
	if upd["role"] != "manager" || upd["email"] != newbie.Email {
		t.Fatalf("role change %v", upd)
	}
	for _, c := range []struct {
		actor  string
		target int64
		role   string
		status int
	}{
		{"admin", team.Owner.ID, "admin", 403},
		{"admin", newbie.ID, "owner", 403},
		{"manager", newbie.ID, "member", 403},
		{"member", newbie.ID, "member", 403},
		{"admin", 999999, "member", 404},
		{"owner", team.Owner.ID, "admin", 409}, // the last owner cannot demote themself
	} {
		res := s.Do(apptest.Req{Method: "PATCH", Path: member(c.target), Token: team.As(c.actor).Token, Body: map[string]any{"role": c.role}})
		if res.Status != c.status {
			t.Errorf("%s sets %d to %s: %d %s", c.actor, c.target, c.role, res.Status, res.Body)
		}
	}
	res = s.Do(apptest.Req{Method: "DELETE", Path: member(team.Owner.ID), Token: team.Owner.Token})
	if res.Status != 409 || res.Code() != "last_owner" {
		t.Fatalf("last owner leaves: %d %s", res.Status, res.Body)
	}
	// Removal.
	s.Must(403, apptest.Req{Method: "DELETE", Path: member(team.Member.ID), Token: team.Manager.Token})
	s.Must(403, apptest.Req{Method: "DELETE", Path: member(team.Owner.ID), Token: team.Admin.Token})
	s.Must(204, apptest.Req{Method: "DELETE", Path: member(team.Member.ID), Token: team.Member.Token}) // leaves by themself
	s.Must(403, apptest.Req{Method: "GET", Path: orgPath(team.OrgID, ""), Token: team.Member.Token})
	s.Must(204, apptest.Req{Method: "DELETE", Path: member(newbie.ID), Token: team.Admin.Token})
	s.Must(404, apptest.Req{Method: "DELETE", Path: member(newbie.ID), Token: team.Admin.Token})

	// With a second owner the first may step down.
	s.Must(200, apptest.Req{Method: "PATCH", Path: member(team.Admin.ID), Token: team.Owner.Token, Body: map[string]any{"role": "owner"}})
	s.Must(200, apptest.Req{Method: "PATCH", Path: member(team.Owner.ID), Token: team.Owner.Token, Body: map[string]any{"role": "member"}})
}

// Two owners demoting each other at once: the organization lock lets exactly one succeed.
func TestLastOwnerHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	path := orgPath(team.OrgID, "/members")
	s.Must(200, apptest.Req{Method: "PATCH", Path: fmt.Sprintf("%s/%d", path, team.Admin.ID), Token: team.Owner.Token, Body: map[string]any{"role": "owner"}})
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, pair := range [][2]apptest.User{{team.Owner, team.Admin}, {team.Admin, team.Owner}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = s.Do(apptest.Req{Method: "DELETE", Path: fmt.Sprintf("%s/%d", path, pair[1].ID), Token: pair[0].Token}).Status
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == 204 {
			ok++
		} else if st != 409 && st != 403 {
			t.Fatalf("unexpected status %d", st)
		}
	}
	if ok != 1 {
		t.Fatalf("statuses %v: want exactly one removal", statuses)
	}
	var owners int
	list := s.Must(200, apptest.Req{Method: "GET", Path: path, Token: team.Member.Token}).JSON()
	for _, it := range list["items"].([]any) {
		if it.(map[string]any)["role"] == "owner" {
			owners++
		}
	}
	if owners != 1 {
		t.Fatalf("owners left: %d", owners)
	}
}

func TestTenantAndTokenErrors(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	u := s.Register("ann")
	for _, c := range []struct {
		name, auth string
		code       string
	}{
		{"no header", "", "missing_token"},
		{"not bearer", "Basic abc", "missing_token"},
		{"garbage", "Bearer abc.def.ghi", "invalid_token"},
		{"refresh as access", "Bearer " + u.Refresh, "invalid_token"},
	} {
		req := apptest.Req{Method: "GET", Path: "/api/v1/organizations/me"}
		if c.auth != "" {
			req.Headers = map[string]string{"Authorization": c.auth}
		}
		res := s.Do(req)
		if res.Status != 401 || res.Code() != c.code || res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
	}
	// An access token is not a refresh token.
	res := s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": u.Token}})
	if res.Status != 401 || res.Code() != "invalid_refresh_token" {
		t.Fatalf("access as refresh: %d %s", res.Status, res.Body)
	}
	// Path org ids that are not numbers name no organization the caller belongs to.
	s.Must(403, apptest.Req{Method: "GET", Path: "/api/v1/organizations/abc", Token: u.Token})
}
