package contacts_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/contacts"
	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/listing"
)

var roles = []string{"owner", "admin", "manager", "member"}

type env struct {
	*apptest.Server
	team apptest.Team
}

func newEnv(t *testing.T) env {
	s := apptest.New(t)
	return env{Server: s, team: s.NewTeam()}
}

// as sends a request as u in the team's organization.
func (e env) as(u apptest.User, method, path string, body any) apptest.Response {
	e.T.Helper()
	return e.Do(apptest.Req{Method: method, Path: path, Body: body, Token: u.Token, Org: e.team.OrgID})
}

func (e env) must(want int, u apptest.User, method, path string, body any) map[string]any {
	e.T.Helper()
	res := e.as(u, method, path, body)
	if res.Status != want {
		e.T.Fatalf("%s %s as user %d: status %d, want %d; body %s", method, path, u.ID, res.Status, want, res.Body)
	}
	return res.JSON()
}

func (e env) contact(u apptest.User, body map[string]any) map[string]any {
	e.T.Helper()
	return e.must(http.StatusCreated, u, "POST", "/api/v1/contacts", body)
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

func contactPath(id int64) string { return fmt.Sprintf("/api/v1/contacts/%d", id) }

func fieldOf(m map[string]any) string {
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	return errs[0].(map[string]any)["field"].(string)
}

func TestCreateEveryRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range roles {
		u := e.team.As(role)
		c := e.contact(u, map[string]any{"name": "  Contact of " + role + " ", "email": "c." + role + "@example.com", "phone": "+1 (555) 010-0000"})
		if c["name"] != "Contact of "+role || int64(c["owner_id"].(float64)) != u.ID || c["phone"] != "+1 (555) 010-0000" {
			t.Fatalf("%s created %v", role, c)
		}
		for _, k := range []string{"id", "owner_id", "name", "email", "phone", "created_at", "updated_at"} {
			if _, ok := c[k]; !ok {
				t.Fatalf("missing %s in %v", k, c)
			}
		}
		if !strings.HasSuffix(c["created_at"].(string), "Z") {
			t.Fatalf("created_at %v", c["created_at"])
		}
		// Creating for another member is for owner, admin and manager only.
		res := e.as(u, "POST", "/api/v1/contacts", map[string]any{"name": "For the member", "owner_id": e.team.Member.ID})
		if role == "member" {
			// For themself a member may name their own id.
			e.contact(u, map[string]any{"name": "Mine", "owner_id": u.ID})
			res = e.as(u, "POST", "/api/v1/contacts", map[string]any{"name": "For the owner", "owner_id": e.team.Owner.ID})
			apptest.WantProblem(t, res, http.StatusForbidden, "create_for_other_forbidden")
			continue
		}
		if res.Status != http.StatusCreated || int64(res.JSON()["owner_id"].(float64)) != e.team.Member.ID {
			t.Fatalf("%s creating for the member: %d %s", role, res.Status, res.Body)
		}
	}
	// An owner outside the organization is a 400 about owner_id, also for a real user.
	res := e.as(e.team.Admin, "POST", "/api/v1/contacts", map[string]any{"name": "x", "owner_id": e.team.Outsider.ID})
	if fieldOf(apptest.WantProblem(t, res, http.StatusBadRequest, "owner_not_member")) != "owner_id" {
		t.Fatalf("owner outside: %s", res.Body)
	}
	res = e.as(e.team.Admin, "POST", "/api/v1/contacts", map[string]any{"name": "x", "owner_id": 999999})
	apptest.WantProblem(t, res, http.StatusBadRequest, "owner_not_member")
	// Email and phone are optional and null when absent.
	c := e.contact(e.team.Owner, map[string]any{"name": "Bare"})
	if c["email"] != nil || c["phone"] != nil {
		t.Fatalf("bare contact %v", c)
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		body   any
		code   string
		fields []string
	}{
		{"name missing", map[string]any{"email": "a@b.co"}, "validation_failed", []string{"name"}},
		{"name blank", map[string]any{"name": "   "}, "validation_failed", []string{"name"}},
		{"name too long", map[string]any{"name": strings.Repeat("n", 201)}, "validation_failed", []string{"name"}},
		{"bad email", map[string]any{"name": "a", "email": "not-an-email"}, "validation_failed", []string{"email"}},
		{"empty email", map[string]any{"name": "a", "email": ""}, "validation_failed", []string{"email"}},
		{"bad phone", map[string]any{"name": "a", "phone": "call me"}, "validation_failed", []string{"phone"}},
		{"long phone", map[string]any{"name": "a", "phone": strings.Repeat("1", 33)}, "validation_failed", []string{"phone"}},
		{"every field at once", map[string]any{"name": "", "email": "x", "phone": "x"}, "validation_failed", []string{"name", "email", "phone"}},
		{"unknown field", map[string]any{"name": "a", "organization_id": 5}, "unknown_field", []string{"organization_id"}},
		{"id cannot be set", map[string]any{"name": "a", "id": 5}, "unknown_field", []string{"id"}},
		{"wrong type", map[string]any{"name": 5}, "validation_failed", []string{"name"}},
		{"bad owner id", map[string]any{"name": "a", "owner_id": 0}, "validation_failed", []string{"owner_id"}},
		{"malformed", `{"name":`, "malformed_json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := apptest.WantProblem(t, e.as(e.team.Owner, "POST", "/api/v1/contacts", tt.body), http.StatusBadRequest, tt.code)
			errs, _ := m["errors"].([]any)
			if len(errs) != len(tt.fields) {
				t.Fatalf("errors %v, want fields %v", errs, tt.fields)
			}
			for i, f := range tt.fields {
				if errs[i].(map[string]any)["field"] != f {
					t.Fatalf("errors %v, want fields %v", errs, tt.fields)
				}
			}
		})
	}
	res := e.Do(apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: e.team.Owner.Token, Org: e.team.OrgID,
		Body: `{"name":"a"}`, Headers: map[string]string{"Content-Type": "text/plain"}})
	apptest.WantProblem(t, res, http.StatusUnsupportedMediaType, "unsupported_media_type")
}

func TestGetEveryRoleAndIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.contact(e.team.Member, map[string]any{"name": "Visible"})
	for _, role := range roles {
		got := e.must(http.StatusOK, e.team.As(role), "GET", contactPath(id(c)), nil)
		if got["name"] != "Visible" {
			t.Fatalf("%s got %v", role, got)
		}
	}
	out := e.team.Outsider
	// Not a member of the organization named by the header: 403, whatever the id.
	res := e.Do(apptest.Req{Method: "GET", Path: contactPath(id(c)), Token: out.Token, Org: e.team.OrgID})
	apptest.WantProblem(t, res, http.StatusForbidden, "not_a_member")
	// From their own organization, another organization's contact does not exist.
	foreign := e.Do(apptest.Req{Method: "GET", Path: contactPath(id(c)), Token: out.Token, Org: out.OrgID})
	never := e.Do(apptest.Req{Method: "GET", Path: contactPath(987654), Token: out.Token, Org: out.OrgID})
	apptest.WantProblem(t, foreign, http.StatusNotFound, "contact_not_found")
	apptest.SameProblem(t, foreign, never)
	for _, m := range []string{"PATCH", "DELETE"} {
		var body any
		if m == "PATCH" {
			body = map[string]any{"name": "stolen"}
		}
		foreign = e.Do(apptest.Req{Method: m, Path: contactPath(id(c)), Token: out.Token, Org: out.OrgID, Body: body})
		never = e.Do(apptest.Req{Method: m, Path: contactPath(987654), Token: out.Token, Org: out.OrgID, Body: body})
		apptest.WantProblem(t, foreign, http.StatusNotFound, "contact_not_found")
		apptest.SameProblem(t, foreign, never)
	}
	if got := e.must(http.StatusOK, e.team.Owner, "GET", contactPath(id(c)), nil); got["name"] != "Visible" {
		t.Fatalf("changed from another organization: %v", got)
	}
	apptest.WantProblem(t, e.as(e.team.Owner, "GET", "/api/v1/contacts/abc", nil), http.StatusNotFound, "not_found")
	// No token, no organization header.
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: contactPath(id(c)), Org: e.team.OrgID}), http.StatusUnauthorized, "missing_token")
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: contactPath(id(c)), Token: e.team.Owner.Token}), http.StatusBadRequest, "missing_organization")
}

func TestUpdateEveryRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range roles {
		u := e.team.As(role)
		own := e.contact(u, map[string]any{"name": "Own", "email": "own@example.com", "phone": "123"})
		others := e.contact(e.team.Owner, map[string]any{"name": "Others"})

		got := e.must(http.StatusOK, u, "PATCH", contactPath(id(own)), map[string]any{"name": " Renamed ", "phone": nil})
		if got["name"] != "Renamed" || got["phone"] != nil || got["email"] != "own@example.com" {
			t.Fatalf("%s patched own: %v", role, got)
		}
		res := e.as(u, "PATCH", contactPath(id(others)), map[string]any{"name": "Taken"})
		if role == "member" {
			apptest.WantProblem(t, res, http.StatusForbidden, "not_owner")
			// Nor may a member give their own contact away.
			res = e.as(u, "PATCH", contactPath(id(own)), map[string]any{"owner_id": e.team.Owner.ID})
			apptest.WantProblem(t, res, http.StatusForbidden, "reassign_forbidden")
			// Naming themself as owner is no reassignment.
			e.must(http.StatusOK, u, "PATCH", contactPath(id(own)), map[string]any{"owner_id": u.ID})
			continue
		}
		if res.Status != http.StatusOK || res.JSON()["name"] != "Taken" {
			t.Fatalf("%s patched another's: %d %s", role, res.Status, res.Body)
		}
		got = e.must(http.StatusOK, u, "PATCH", contactPath(id(others)), map[string]any{"owner_id": e.team.Member.ID})
		if int64(got["owner_id"].(float64)) != e.team.Member.ID {
			t.Fatalf("%s reassigned: %v", role, got)
		}
		res = e.as(u, "PATCH", contactPath(id(others)), map[string]any{"owner_id": e.team.Outsider.ID})
		if fieldOf(apptest.WantProblem(t, res, http.StatusBadRequest, "owner_not_member")) != "owner_id" {
			t.Fatalf("reassigned outside: %s", res.Body)
		}
	}
}

func TestUpdateAbsentNullAndValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.contact(e.team.Owner, map[string]any{"name": "Ann", "email": "ann@example.com", "phone": "123"})
	p := contactPath(id(c))
	// An empty patch changes nothing, not even updated_at.
	got := e.must(http.StatusOK, e.team.Owner, "PATCH", p, map[string]any{})
	if got["updated_at"] != c["updated_at"] || got["email"] != "ann@example.com" {
		t.Fatalf("empty patch: %v", got)
	}
	got = e.must(http.StatusOK, e.team.Owner, "PATCH", p, map[string]any{"email": nil})
	if got["email"] != nil || got["phone"] != "123" || got["name"] != "Ann" {
		t.Fatalf("clear email: %v", got)
	}
	got = e.must(http.StatusOK, e.team.Owner, "PATCH", p, map[string]any{"email": "new@example.com"})
	if got["email"] != "new@example.com" || got["phone"] != "123" {
		t.Fatalf("set email: %v", got)
	}
	for _, tt := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": nil}, "name"},
		{map[string]any{"name": " "}, "name"},
		{map[string]any{"email": "bad"}, "email"},
		{map[string]any{"phone": "x"}, "phone"},
		{map[string]any{"owner_id": nil}, "owner_id"},
		{map[string]any{"owner_id": -1}, "owner_id"},
		{map[string]any{"created_at": "2020-01-01T00:00:00Z"}, "created_at"},
	} {
		m := e.as(e.team.Owner, "PATCH", p, tt.body).JSON()
		if m["status"] != float64(400) || fieldOf(m) != tt.field {
			t.Fatalf("patch %v: %v", tt.body, m)
		}
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range roles {
		u := e.team.As(role)
		own := e.contact(u, map[string]any{"name": "Own"})
		others := e.contact(e.team.Owner, map[string]any{"name": "Others"})
		e.must(http.StatusNoContent, u, "DELETE", contactPath(id(own)), nil)
		apptest.WantProblem(t, e.as(u, "GET", contactPath(id(own)), nil), http.StatusNotFound, "contact_not_found")
		res := e.as(u, "DELETE", contactPath(id(others)), nil)
		if role == "member" {
			apptest.WantProblem(t, res, http.StatusForbidden, "not_owner")
			continue
		}
		if res.Status != http.StatusNoContent {
			t.Fatalf("%s deleting another's: %d %s", role, res.Status, res.Body)
		}
	}
	// A contact with deals of any status cannot go; the detail says how many.
	c := e.contact(e.team.Owner, map[string]any{"name": "Has deals"})
	var deals []int64
	for i, status := range []string{"new", "lost", "won"} {
		d := e.must(http.StatusCreated, e.team.Owner, "POST", "/api/v1/deals", map[string]any{
			"contact_id": id(c), "title": fmt.Sprint("deal ", i), "amount": 10, "status": status})
		deals = append(deals, id(d))
	}
	m := apptest.WantProblem(t, e.as(e.team.Owner, "DELETE", contactPath(id(c)), nil), http.StatusConflict, "contact_has_deals")
	if !strings.Contains(m["detail"].(string), "3 deals") {
		t.Fatalf("detail %q", m["detail"])
	}
	for _, d := range deals[1:] {
		e.must(http.StatusNoContent, e.team.Owner, "DELETE", fmt.Sprintf("/api/v1/deals/%d", d), nil)
	}
	m = apptest.WantProblem(t, e.as(e.team.Owner, "DELETE", contactPath(id(c)), nil), http.StatusConflict, "contact_has_deals")
	if !strings.Contains(m["detail"].(string), "1 deal ") {
		t.Fatalf("detail %q", m["detail"])
	}
	e.must(http.StatusNoContent, e.team.Owner, "DELETE", fmt.Sprintf("/api/v1/deals/%d", deals[0]), nil)
	e.must(http.StatusNoContent, e.team.Owner, "DELETE", contactPath(id(c)), nil)
	apptest.WantProblem(t, e.as(e.team.Owner, "DELETE", contactPath(id(c)), nil), http.StatusNotFound, "contact_not_found")
}

func TestListSearchOwnerFilterAndPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mk := func(u apptest.User, name, email string) int64 {
		body := map[string]any{"name": name}
		if email != "" {
			body["email"] = email
		}
		return id(e.contact(u, body))
	}
	bob := mk(e.team.Owner, "Bob Smith", "bob@corp.example")
	ann := mk(e.team.Member, "Ann Lee", "ann@SMITHS.example")
	pct := mk(e.team.Manager, "100% Juice_Co", "")
	carl := mk(e.team.Member, "Carl", "carl@other.example")
	// Another organization's contact with a matching name is never listed.
	e.Do(apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: e.team.Outsider.Token, Org: e.team.Outsider.OrgID,
		Body: map[string]any{"name": "Smith from elsewhere"}})

	ids := func(m map[string]any) []int64 {
		var out []int64
		for _, it := range m["items"].([]any) {
			out = append(out, id(it.(map[string]any)))
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []int64
	}{
		{"", []int64{carl, pct, ann, bob}},
		{"?search=smith", []int64{ann, bob}},         // name or email, any case
		{"?search=SMITH", []int64{ann, bob}},         // case-insensitive
		{"?search=%25", []int64{pct}},                // a literal %
		{"?search=bo_", []int64{}},                   // a literal _, not "any character"
		{"?search=juice_", []int64{pct}},             // ...but itself
		{"?search=nobody", []int64{}},                // nothing
		{"?search=++", []int64{carl, pct, ann, bob}}, // blank search is no filter
		{"?page_size=2", []int64{carl, pct}},
		{"?page_size=2&page=2", []int64{ann, bob}},
		{"?page_size=2&page=3", []int64{}},
	} {
		for _, role := range roles {
			m := e.must(http.StatusOK, e.team.As(role), "GET", "/api/v1/contacts"+tt.query, nil)
			got := ids(m)
			if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
				t.Fatalf("%s %q: %v, want %v", role, tt.query, got, tt.want)
			}
		}
	}
	m := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/contacts?search=smith&page_size=1", nil)
	if m["total"] != float64(2) || m["page_size"] != float64(1) || m["page"] != float64(1) || len(m["items"].([]any)) != 1 {
		t.Fatalf("envelope %v", m)
	}
	for _, role := range []string{"owner", "admin", "manager"} {
		m := e.must(http.StatusOK, e.team.As(role), "GET", fmt.Sprintf("/api/v1/contacts?owner_id=%d", e.team.Member.ID), nil)
		if got := ids(m); !reflect.DeepEqual(got, []int64{carl, ann}) || m["total"] != float64(2) {
			t.Fatalf("%s owner filter: %v", role, m)
		}
	}
	res := e.as(e.team.Member, "GET", fmt.Sprintf("/api/v1/contacts?owner_id=%d", e.team.Member.ID), nil)
	apptest.WantProblem(t, res, http.StatusForbidden, "owner_filter_forbidden")
	for _, q := range []string{"?owner_id=abc", "?page=0", "?page_size=101", "?search=" + strings.Repeat("a", 201)} {
		apptest.WantProblem(t, e.as(e.team.Owner, "GET", "/api/v1/contacts"+q, nil), http.StatusBadRequest, "invalid_query")
	}
	// Trailing slash is the same route.
	e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/contacts/", nil)
}

// The service filters every statement by the organization of the caller: an id of another
// organization is never read, changed or deleted.
func TestServiceTenantFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	facade, err := kernel.Resolve[contactsapi.Contacts](e.App.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	svc := facade.(*contacts.Service)
	home := apptest.Acting(context.Background(), auth.Principal{UserID: e.team.Owner.ID, OrgID: e.team.OrgID, Role: auth.RoleOwner})
	away := apptest.Acting(context.Background(), auth.Principal{UserID: e.team.Outsider.ID, OrgID: e.team.Outsider.OrgID, Role: auth.RoleOwner})

	c, err := svc.Create(home, contacts.NewContact{Name: "Home"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(away, contacts.NewContact{Name: "Away"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(away, c.ID); !errors.Is(err, contactsapi.ErrContactNotFound) {
		t.Fatalf("get across: %v", err)
	}
	// The facade's explicit organization filter holds even where row-level security would let
	// the row through (the context is scoped to the contact's own organization).
	homeScope := database.WithTenant(context.Background(), e.team.OrgID)
	if _, err := svc.Contact(homeScope, e.team.Outsider.OrgID, c.ID); !errors.Is(err, contactsapi.ErrContactNotFound) {
		t.Fatalf("facade across: %v", err)
	}
	if _, err := svc.Update(away, c.ID, contacts.Patch{Name: new("Stolen")}); !errors.Is(err, contactsapi.ErrContactNotFound) {
		t.Fatalf("update across: %v", err)
	}
	if err := svc.Delete(away, c.ID); !errors.Is(err, contactsapi.ErrContactNotFound) {
		t.Fatalf("delete across: %v", err)
	}
	res, err := svc.List(away, contacts.ListFilter{Search: "Home"}, listing.Window{Limit: 20, Count: true})
	items, total := res.Items, *res.Total
	if err != nil || total != 0 || len(items) != 0 {
		t.Fatalf("list across: %v %d %v", items, total, err)
	}
	res, err = svc.List(away, contacts.ListFilter{}, listing.Window{Limit: 20, Count: true})
	items, total = res.Items, *res.Total
	if err != nil || total != 1 || items[0].Name != "Away" {
		t.Fatalf("own list: %v %d %v", items, total, err)
	}
	got, err := svc.Contact(homeScope, e.team.OrgID, c.ID)
	if err != nil || got.Name != "Home" || got.OrganizationID != e.team.OrgID {
		t.Fatalf("home contact changed: %+v %v", got, err)
	}
	// The schema refuses an owner from another organization even when the code is bypassed.
	conn, err := pgx.Connect(context.Background(), e.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(),
		"INSERT INTO contacts (organization_id, owner_id, name) VALUES ($1, $2, 'x')", e.team.OrgID, e.team.Outsider.ID)
	if err == nil || !strings.Contains(err.Error(), "contacts_owner_fkey") {
		t.Fatalf("foreign owner stored: %v", err)
	}
}

// A member who still owns contacts cannot be removed from the organization.
func TestMemberWithContactsCannotBeRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.contact(e.team.Member, map[string]any{"name": "Held"})
	p := fmt.Sprintf("/api/v1/organizations/%d/members/%d", e.team.OrgID, e.team.Member.ID)
	res := e.Do(apptest.Req{Method: "DELETE", Path: p, Token: e.team.Owner.Token})
	apptest.WantProblem(t, res, http.StatusConflict, "member_owns_records")
	e.must(http.StatusOK, e.team.Owner, "PATCH", contactPath(id(c)), map[string]any{"owner_id": e.team.Owner.ID})
	e.Must(http.StatusNoContent, apptest.Req{Method: "DELETE", Path: p, Token: e.team.Owner.Token})
}

// Company, job title, notes and tags: created, rendered (tags always an array), changed by
// PATCH (tags replace the whole list), and refused past their limits with every bad field
// named at once.
func TestRicherContactFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bare := e.contact(e.team.Member, map[string]any{"name": "Bare"})
	if tags, ok := bare["tags"].([]any); !ok || len(tags) != 0 || bare["company"] != nil || bare["job_title"] != nil || bare["notes"] != nil {
		t.Fatalf("bare contact %v: want null company, job_title, notes and tags []", bare)
	}
	notes := "Met at the fair.\n  Call after the 15th. "
	c := e.contact(e.team.Member, map[string]any{"name": "Ada", "company": " Analytical Engines ", "job_title": " CTO ",
		"notes": notes, "tags": []any{" VIP ", "Lead", "vip", "LEAD", "Trade Show 2026"}})
	want := map[string]any{"company": "Analytical Engines", "job_title": "CTO", "notes": notes}
	for k, v := range want {
		if c[k] != v {
			t.Fatalf("%s = %q, want %q (in %v)", k, c[k], v, c)
		}
	}
	wantTags := func(m map[string]any, want ...string) {
		t.Helper()
		var got []string
		for _, v := range m["tags"].([]any) {
			got = append(got, v.(string))
		}
		if !reflect.DeepEqual(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Fatalf("tags %q, want %q", got, want)
		}
	}
	wantTags(c, "vip", "lead", "trade show 2026")
	p := contactPath(id(c))
	wantTags(e.must(http.StatusOK, e.team.Member, "GET", p, nil), "vip", "lead", "trade show 2026")

	// PATCH: tags replace the list; absent fields stay; null clears.
	got := e.must(http.StatusOK, e.team.Member, "PATCH", p, map[string]any{"tags": []any{"Partner", "vip"}})
	wantTags(got, "partner", "vip")
	if got["company"] != "Analytical Engines" || got["notes"] != notes {
		t.Fatalf("a tags patch changed other fields: %v", got)
	}
	got = e.must(http.StatusOK, e.team.Member, "PATCH", p, map[string]any{"company": nil, "job_title": "Chief Engineer", "notes": nil})
	if got["company"] != nil || got["job_title"] != "Chief Engineer" || got["notes"] != nil {
		t.Fatalf("patch %v", got)
	}
	wantTags(got, "partner", "vip")
	// The same tags in another spelling change nothing, not even updated_at.
	backdate(t, e.Server, "contacts", id(c))
	before := e.must(http.StatusOK, e.team.Member, "GET", p, nil)
	got = e.must(http.StatusOK, e.team.Member, "PATCH", p, map[string]any{"tags": []any{"PARTNER ", "Vip", "partner"}})
	if got["updated_at"] != before["updated_at"] {
		t.Fatalf("repeating the tags moved updated_at: %v → %v", before["updated_at"], got["updated_at"])
	}
	wantTags(e.must(http.StatusOK, e.team.Member, "PATCH", p, map[string]any{"tags": []any{}}))
	e.must(http.StatusOK, e.team.Member, "PATCH", p, map[string]any{"tags": []any{"a"}})
	wantTags(e.must(http.StatusOK, e.team.Member, "PATCH", p, map[string]any{"tags": nil}))
	// null tags on create are no tags.
	wantTags(e.contact(e.team.Member, map[string]any{"name": "Null tags", "tags": nil}))

	tags := func(n int, f func(i int) string) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	twenty := tags(20, func(i int) string { return fmt.Sprint("Tag ", i) })
	wantTags(e.contact(e.team.Owner, map[string]any{"name": "Twenty", "tags": twenty}), func() []string {
		var out []string
		for i := range 20 {
			out = append(out, fmt.Sprint("tag ", i))
		}
		return out
	}()...)
	long := strings.Repeat("t", 50)
	wantTags(e.contact(e.team.Owner, map[string]any{"name": "Long tag", "tags": []any{" " + long + " "}}), long)
	wantTags(e.contact(e.team.Owner, map[string]any{"name": "Long notes", "notes": strings.Repeat("n", 10000)}))

	for _, tt := range []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"21 tags", map[string]any{"tags": tags(21, func(i int) string { return fmt.Sprint("t", i) })}, []string{"tags"}},
		{"51-character tag", map[string]any{"tags": []any{"ok", strings.Repeat("t", 51)}}, []string{"tags[1]"}},
		{"empty tag", map[string]any{"tags": []any{""}}, []string{"tags[0]"}},
		{"blank tag", map[string]any{"tags": []any{"a", "   "}}, []string{"tags[1]"}},
		{"null tag", map[string]any{"tags": []any{nil}}, []string{"tags[0]"}},
		{"tag not a string", map[string]any{"tags": []any{5}}, []string{"tags"}},
		{"tags not a list", map[string]any{"tags": "vip"}, []string{"tags"}},
		{"notes too long", map[string]any{"notes": strings.Repeat("n", 10001)}, []string{"notes"}},
		{"blank notes", map[string]any{"notes": " \n "}, []string{"notes"}},
		{"company too long", map[string]any{"company": strings.Repeat("c", 201)}, []string{"company"}},
		{"blank company", map[string]any{"company": "  "}, []string{"company"}},
		{"job title too long", map[string]any{"job_title": strings.Repeat("j", 201)}, []string{"job_title"}},
		{"every field at once", map[string]any{"company": "", "job_title": strings.Repeat("j", 201), "notes": "",
			"tags": []any{"ok", ""}}, []string{"company", "job_title", "notes", "tags[1]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{"POST", "PATCH"} {
				path, body := "/api/v1/contacts", map[string]any{"name": "x"}
				if method == "PATCH" {
					path, body = p, map[string]any{}
				}
				for k, v := range tt.body {
					body[k] = v
				}
				m := apptest.WantProblem(t, e.as(e.team.Owner, method, path, body), http.StatusBadRequest, "validation_failed")
				var fields []string
				for _, fe := range m["errors"].([]any) {
					fields = append(fields, fe.(map[string]any)["field"].(string))
				}
				slices.Sort(fields)
				want := slices.Sorted(slices.Values(tt.fields))
				if !slices.Equal(fields, want) {
					t.Fatalf("%s: errors on %v, want %v (%v)", method, fields, want, m["errors"])
				}
			}
		})
	}
	// The refused writes left the contact as it was.
	if got := e.must(http.StatusOK, e.team.Member, "GET", p, nil); got["job_title"] != "Chief Engineer" || len(got["tags"].([]any)) != 0 {
		t.Fatalf("a refused patch changed the contact: %v", got)
	}
}

// listIDs reads the ids of a list page.
func listIDs(m map[string]any) []int64 {
	out := []int64{}
	for _, it := range m["items"].([]any) {
		out = append(out, id(it.(map[string]any)))
	}
	return out
}

// The tag filter wants every tag given, normalized like stored tags; search also matches
// phone and company; a bad tag is named with every other bad parameter at once.
func TestListByTagAndSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mk := func(body map[string]any) int64 { return id(e.contact(e.team.Owner, body)) }
	ann := mk(map[string]any{"name": "Ann", "tags": []any{"vip", "lead"}, "phone": "+44 20 7946 0018"})
	bob := mk(map[string]any{"name": "Bob", "tags": []any{"VIP"}, "company": "Umbrella Corp"})
	cat := mk(map[string]any{"name": "Cat", "tags": []any{"lead", "partner"}, "company": "Globex", "email": "cat@umbrella.example"})
	dan := mk(map[string]any{"name": "Dan", "job_title": "Umbrella salesman", "notes": "umbrella"})
	e.Do(apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: e.team.Outsider.Token, Org: e.team.Outsider.OrgID,
		Body: map[string]any{"name": "Elsewhere", "tags": []any{"vip"}, "company": "Umbrella"}})
	for _, tt := range []struct {
		query string
		want  []int64
	}{
		{"?tag=vip", []int64{bob, ann}},
		{"?tag=%20VIP%20", []int64{bob, ann}}, // normalized like stored tags
		{"?tag=vip&tag=lead", []int64{ann}},   // every tag given
		{"?tag=lead&tag=LEAD", []int64{cat, ann}},
		{"?tag=lead&tag=partner&tag=vip", []int64{}},
		{"?tag=nobody", []int64{}},
		{"?search=7946", []int64{ann}},             // phone
		{"?search=%2B44%2020", []int64{ann}},       // phone as written, + and space
		{"?search=umbrella", []int64{cat, bob}},    // company, or email; not job title or notes
		{"?search=GLOBEX", []int64{cat}},           // company, any case
		{"?search=umbrella&tag=vip", []int64{bob}}, // both filters
		{"?search=salesman", []int64{}},            // job title is not searched
	} {
		m := e.must(http.StatusOK, e.team.Member, "GET", "/api/v1/contacts"+tt.query, nil)
		if got := listIDs(m); !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("%q: %v, want %v", tt.query, got, tt.want)
		}
		if m["total"] != float64(len(tt.want)) {
			t.Fatalf("%q: total %v, want %d", tt.query, m["total"], len(tt.want))
		}
	}
	if got := listIDs(e.must(http.StatusOK, e.team.Member, "GET", "/api/v1/contacts?search=umbrella%20sales", nil)); len(got) != 0 {
		t.Fatalf("search matched the job title of %d: %v", dan, got)
	}
	m := e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/contacts?tag=vip&owner_id="+fmt.Sprint(e.team.Owner.ID), nil)
	if got := listIDs(m); !reflect.DeepEqual(got, []int64{bob, ann}) {
		t.Fatalf("tag and owner: %v", got)
	}

	twentyOne := ""
	for i := range 21 {
		twentyOne += fmt.Sprintf("&tag=t%d", i)
	}
	for _, tt := range []struct {
		query  string
		fields []string
	}{
		{"?tag=", []string{"tag"}},
		{"?tag=%20%20", []string{"tag"}},
		{"?tag=vip&tag=" + strings.Repeat("t", 51), []string{"tag"}},
		{"?" + twentyOne[1:], []string{"tag"}},
		{"?tag=&order_by=email&order=up&page_size=0&owner_id=x", []string{"page_size", "tag", "owner_id", "order_by", "order"}},
	} {
		m := apptest.WantProblem(t, e.as(e.team.Owner, "GET", "/api/v1/contacts"+tt.query, nil), http.StatusBadRequest, "invalid_query")
		var fields []string
		for _, fe := range m["errors"].([]any) {
			fields = append(fields, fe.(map[string]any)["field"].(string))
		}
		if !slices.Equal(slices.Sorted(slices.Values(fields)), slices.Sorted(slices.Values(tt.fields))) {
			t.Fatalf("%q: errors on %v, want %v", tt.query, fields, tt.fields)
		}
	}
	// 21 tags that are one tag in different spellings are one tag.
	same := ""
	for i := range 21 {
		same += "&tag=" + strings.Repeat(" ", i) + "VIP"
	}
	if got := listIDs(e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/contacts?"+strings.ReplaceAll(same[1:], " ", "%20"), nil)); !reflect.DeepEqual(got, []int64{bob, ann}) {
		t.Fatalf("one tag spelled 21 ways: %v", got)
	}
}

// Every order, in both directions, lists the same contacts page by page whether the pages are
// read by number or by cursor, and a cursor works only for the order that made it.
func TestListOrdersWithCursors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	names := []string{"bea", "Ann", "Émile", "carl", "Bea", "ann", "Zoe", "dave", "Ann"}
	var ids []int64
	for _, n := range names {
		ids = append(ids, id(e.contact(e.team.Owner, map[string]any{"name": n, "tags": []any{"all"}})))
	}
	// Touch some, so that updated_at orders differently from created_at.
	for _, i := range []int{4, 0, 7} {
		backdate(t, e.Server, "contacts", ids[i])
	}
	for _, i := range []int{2, 5} {
		e.must(http.StatusOK, e.team.Owner, "PATCH", contactPath(ids[i]), map[string]any{"notes": fmt.Sprint("touched ", i)})
	}
	read := func(query string) map[string]any {
		return e.must(http.StatusOK, e.team.Owner, "GET", "/api/v1/contacts?"+query, nil)
	}
	for _, orderBy := range []string{"", "created_at", "updated_at", "name"} {
		for _, order := range []string{"", "asc", "desc"} {
			q := "tag=all&page_size=2"
			if orderBy != "" {
				q += "&order_by=" + orderBy
			}
			if order != "" {
				q += "&order=" + order
			}
			all := listIDs(read(strings.Replace(q, "page_size=2", "page_size=100", 1)))
			if len(all) != len(names) {
				t.Fatalf("%s: %v", q, all)
			}
			var byPage, byCursor []int64
			for page := 1; ; page++ {
				m := read(fmt.Sprintf("%s&page=%d", q, page))
				if len(m["items"].([]any)) == 0 {
					break
				}
				byPage = append(byPage, listIDs(m)...)
			}
			cursor := ""
			for {
				query := q + "&include_total=false"
				if cursor != "" {
					query += "&cursor=" + cursor
				}
				m := read(query)
				byCursor = append(byCursor, listIDs(m)...)
				next, _ := m["next_cursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
			if !reflect.DeepEqual(byPage, all) || !reflect.DeepEqual(byCursor, all) {
				t.Fatalf("%s: pages %v, cursor pages %v, one page %v", q, byPage, byCursor, all)
			}
			// The order itself.
			rows := read(strings.Replace(q, "page_size=2", "page_size=100", 1))["items"].([]any)
			desc := order != "asc"
			for i := 1; i < len(rows); i++ {
				a, b := rows[i-1].(map[string]any), rows[i].(map[string]any)
				var ka, kb string
				switch orderBy {
				case "", "created_at":
					ka, kb = a["created_at"].(string), b["created_at"].(string)
				case "updated_at":
					ka, kb = a["updated_at"].(string), b["updated_at"].(string)
				case "name":
					ka, kb = strings.ToLower(a["name"].(string)), strings.ToLower(b["name"].(string))
				}
				if (desc && ka < kb) || (!desc && ka > kb) {
					t.Fatalf("%s: %q before %q", q, ka, kb)
				}
				if orderBy == "name" && ka == kb && ((desc && id(a) < id(b)) || (!desc && id(a) > id(b))) {
					t.Fatalf("%s: ties not in id order: %d before %d", q, id(a), id(b))
				}
			}
		}
	}
	// Names sort without regard to case: ann, Ann, Ann, bea, Bea, carl, ...
	got := listIDs(read("order_by=name&order=asc&page_size=4"))
	if want := []int64{ids[1], ids[5], ids[8], ids[0]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("by name: %v, want %v", got, want)
	}
	// A cursor of one order is refused by another.
	next := read("order_by=name&page_size=2")["next_cursor"].(string)
	for _, q := range []string{"order_by=name&order=asc", "order_by=created_at", "order_by=updated_at", ""} {
		res := e.as(e.team.Owner, "GET", "/api/v1/contacts?page_size=2&cursor="+next+"&"+q, nil)
		apptest.WantProblem(t, res, http.StatusBadRequest, "invalid_cursor")
	}
	read("order_by=name&page_size=2&cursor=" + next)
}
