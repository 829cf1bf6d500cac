package invitations_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func invitationsPath(org int64, rest string) string {
	return fmt.Sprintf("/api/v1/organizations/%d/invitations%s", org, rest)
}

type invited struct {
	ID    int64
	Token string
	Body  map[string]any
}

// invite makes an invitation as inviter and returns it.
func invite(s *apptest.Server, inviter apptest.User, org int64, email, role string) invited {
	s.T.Helper()
	res := s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: invitationsPath(org, ""), Token: inviter.Token,
		Body: map[string]any{"email": email, "role": role}})
	body := res.JSON()
	return invited{ID: int64(body["id"].(float64)), Token: body["token"].(string), Body: body}
}

// myOrganizations is GET /organizations/me, whether it answers an array or a list envelope.
func myOrganizations(s *apptest.Server, token string) []map[string]any {
	s.T.Helper()
	r := s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/api/v1/organizations/me", Token: token})
	var items []map[string]any
	if err := json.Unmarshal(r.Body, &items); err == nil {
		return items
	}
	var env struct{ Items []map[string]any }
	r.Decode(s.T, &env)
	return env.Items
}

func accept(s *apptest.Server, u apptest.User, token string) apptest.Response {
	s.T.Helper()
	return s.Do(apptest.Req{Method: "POST", Path: "/api/v1/invitations/accept", Token: u.Token, Body: map[string]any{"token": token}})
}

// roleIn is u's role in org as the members list says, "" when not a member.
func roleIn(s *apptest.Server, as apptest.User, org int64, u apptest.User) string {
	s.T.Helper()
	var page struct {
		Items []struct {
			UserID int64 `json:"user_id"`
			Role   string
		}
	}
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/organizations/%d/members?page_size=100", org),
		Token: as.Token}).Decode(s.T, &page)
	for _, m := range page.Items {
		if m.UserID == u.ID {
			return m.Role
		}
	}
	return ""
}

// listed is the organization's list of invitations, by id.
func listed(s *apptest.Server, as apptest.User, org int64, query string) map[int64]map[string]any {
	s.T.Helper()
	var page struct{ Items []map[string]any }
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: invitationsPath(org, query), Token: as.Token}).Decode(s.T, &page)
	out := map[int64]map[string]any{}
	for _, it := range page.Items {
		out[int64(it["id"].(float64))] = it
	}
	return out
}

// Owners and admins invite, with any role up to their own (only an owner invites an owner);
// managers and members cannot; the token is shown once and never listed.
func TestOwnersAndAdminsInvite(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()

	inv := invite(s, team.Owner, team.OrgID, "new.owner@example.com", "owner")
	b := inv.Body
	if b["status"] != "pending" || b["role"] != "owner" || b["email"] != "new.owner@example.com" ||
		int64(b["invited_by"].(float64)) != team.Owner.ID || !strings.HasPrefix(inv.Token, "inv_") || len(inv.Token) != 47 {
		t.Fatalf("created: %v", b)
	}
	created, _ := time.Parse(time.RFC3339, b["created_at"].(string))
	expires, _ := time.Parse(time.RFC3339, b["expires_at"].(string))
	if d := expires.Sub(created); d < 7*24*time.Hour-time.Second || d > 7*24*time.Hour+time.Second {
		t.Fatalf("valid for %v, want 7 days", d)
	}
	invite(s, team.Admin, team.OrgID, "new.admin@example.com", "admin")
	res := s.Do(apptest.Req{Method: "POST", Path: invitationsPath(team.OrgID, ""), Token: team.Admin.Token,
		Body: map[string]any{"email": "x@example.com", "role": "owner"}})
	apptest.WantProblem(t, res, 403, "forbidden")
	for _, u := range []apptest.User{team.Manager, team.Member} {
		res := s.Do(apptest.Req{Method: "POST", Path: invitationsPath(team.OrgID, ""), Token: u.Token,
			Body: map[string]any{"email": "x@example.com", "role": "member"}})
		apptest.WantProblem(t, res, 403, "forbidden")
		apptest.WantProblem(t, s.Do(apptest.Req{Method: "GET", Path: invitationsPath(team.OrgID, ""), Token: u.Token}), 403, "forbidden")
		apptest.WantProblem(t, s.Do(apptest.Req{Method: "DELETE", Path: invitationsPath(team.OrgID, fmt.Sprintf("/%d", inv.ID)), Token: u.Token}), 403, "forbidden")
	}
	apptest.WantProblem(t, s.Do(apptest.Req{Method: "GET", Path: invitationsPath(team.OrgID, ""), Token: team.Outsider.Token}), 403, "not_a_member")
	for _, bad := range []map[string]any{
		{"email": "not-an-email", "role": "member"},
		{"email": "a@example.com", "role": "boss"},
		{"email": "a@example.com"},
	} {
		res := s.Do(apptest.Req{Method: "POST", Path: invitationsPath(team.OrgID, ""), Token: team.Owner.Token, Body: bad})
		apptest.WantProblem(t, res, 400, "validation_failed")
	}

	all := listed(s, team.Admin, team.OrgID, "")
	if len(all) != 2 || all[inv.ID]["status"] != "pending" {
		t.Fatalf("list: %v", all)
	}
	for _, it := range all {
		if _, ok := it["token"]; ok {
			t.Fatalf("a token is listed: %v", it)
		}
	}
	apptest.WantProblem(t, s.Do(apptest.Req{Method: "GET", Path: invitationsPath(team.OrgID, "?status=maybe"), Token: team.Owner.Token}), 400, "invalid_query")
}

// Inviting a member, whatever the case of the email, is 409 already_member.
func TestInvitingAMemberIsAConflict(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	res := s.Do(apptest.Req{Method: "POST", Path: invitationsPath(team.OrgID, ""), Token: team.Owner.Token,
		Body: map[string]any{"email": strings.ToUpper(team.Member.Email), "role": "admin"}})
	apptest.WantProblem(t, res, 409, "already_member")
}

// The invitee sees their pending invitations with the organization's name, accepts one with
// the invited role, and the token then works no more; the caller's email is compared
// case-insensitively, and another person's invitation is 403.
func TestAcceptJoinsTheOrganizationOnce(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	ben := s.Register("ben")
	inv := invite(s, team.Admin, team.OrgID, "  "+strings.ToUpper(ben.Email)+" ", "manager")

	var mine struct {
		Items []map[string]any
		Total int
	}
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/api/v1/invitations", Token: ben.Token}).Decode(t, &mine)
	if mine.Total != 1 || len(mine.Items) != 1 || int64(mine.Items[0]["organization_id"].(float64)) != team.OrgID ||
		mine.Items[0]["organization_name"] != "owner's org" || mine.Items[0]["status"] != "pending" || mine.Items[0]["token"] != nil {
		t.Fatalf("mine: %+v", mine)
	}
	// Nobody else sees it.
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/api/v1/invitations", Token: team.Outsider.Token}).Decode(t, &mine)
	if len(mine.Items) != 0 {
		t.Fatalf("another person's invitations: %+v", mine)
	}

	apptest.WantProblem(t, accept(s, team.Outsider, inv.Token), 403, "invitation_email_mismatch")
	res := accept(s, ben, inv.Token)
	if res.Status != 200 {
		t.Fatalf("accept: %d %s", res.Status, res.Body)
	}
	org := res.JSON()["organization"].(map[string]any)
	if int64(org["id"].(float64)) != team.OrgID || org["role"] != "manager" || org["name"] != "owner's org" {
		t.Fatalf("organization %v", org)
	}
	got := s.Must(200, apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/organizations/%d", team.OrgID), Token: ben.Token}).JSON()
	for k, v := range got {
		if fmt.Sprint(org[k]) != fmt.Sprint(v) {
			t.Fatalf("accept renders %v, GET %v", org, got)
		}
	}
	if r := roleIn(s, team.Owner, team.OrgID, ben); r != "manager" {
		t.Fatalf("role %q", r)
	}
	apptest.WantProblem(t, accept(s, ben, inv.Token), 404, "invitation_not_found")
	apptest.WantProblem(t, accept(s, ben, "inv_nonsense"), 404, "invitation_not_found")
	it := listed(s, team.Owner, team.OrgID, "")[inv.ID]
	if it["status"] != "accepted" || int64(it["accepted_by"].(float64)) != ben.ID || it["accepted_at"] == nil {
		t.Fatalf("listed after accept: %v", it)
	}
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/api/v1/invitations", Token: ben.Token}).Decode(t, &mine)
	if len(mine.Items) != 0 {
		t.Fatalf("a used invitation is still pending: %+v", mine)
	}

	// A pending invitation of someone who became a member meanwhile stays pending: 409.
	carl := s.Register("carl")
	inv2 := invite(s, team.Owner, team.OrgID, carl.Email, "member")
	s.AddMember(team.Owner, team.OrgID, carl, "member")
	apptest.WantProblem(t, accept(s, carl, inv2.Token), 409, "already_member")
	if st := listed(s, team.Owner, team.OrgID, "")[inv2.ID]["status"]; st != "pending" {
		t.Fatalf("status %v after a refused accept", st)
	}
}

// A new invitation for an email replaces its pending one: the old token stops working and the
// old invitation is listed as revoked. A revoked invitation cannot be accepted; revoking
// again changes nothing; an unknown id is 404.
func TestReplaceAndRevoke(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	ben := s.Register("ben")
	first := invite(s, team.Owner, team.OrgID, ben.Email, "admin")
	second := invite(s, team.Admin, team.OrgID, strings.ToUpper(ben.Email), "member")
	all := listed(s, team.Owner, team.OrgID, "")
	if all[first.ID]["status"] != "revoked" || all[second.ID]["status"] != "pending" {
		t.Fatalf("after replacing: %v", all)
	}
	if p := listed(s, team.Owner, team.OrgID, "?status=pending"); len(p) != 1 || p[second.ID] == nil {
		t.Fatalf("pending: %v", p)
	}
	if p := listed(s, team.Owner, team.OrgID, "?status=revoked&status=accepted"); len(p) != 1 || p[first.ID] == nil {
		t.Fatalf("revoked: %v", p)
	}
	apptest.WantProblem(t, accept(s, ben, first.Token), 404, "invitation_not_found")

	s.Must(http.StatusNoContent, apptest.Req{Method: "DELETE", Path: invitationsPath(team.OrgID, fmt.Sprintf("/%d", second.ID)), Token: team.Admin.Token})
	s.Must(http.StatusNoContent, apptest.Req{Method: "DELETE", Path: invitationsPath(team.OrgID, fmt.Sprintf("/%d", second.ID)), Token: team.Owner.Token})
	apptest.WantProblem(t, accept(s, ben, second.Token), 404, "invitation_not_found")
	apptest.WantProblem(t, s.Do(apptest.Req{Method: "DELETE", Path: invitationsPath(team.OrgID, "/999999"), Token: team.Owner.Token}), 404, "invitation_not_found")
	// Another organization's invitation is not found in this one.
	other := invite(s, team.Outsider, team.Outsider.OrgID, "z@example.com", "member")
	apptest.WantProblem(t, s.Do(apptest.Req{Method: "DELETE", Path: invitationsPath(team.OrgID, fmt.Sprintf("/%d", other.ID)), Token: team.Owner.Token}), 404, "invitation_not_found")
	if r := roleIn(s, team.Owner, team.OrgID, ben); r != "" {
		t.Fatalf("ben joined: %q", r)
	}
}

// An invitation expires 7 days after it was made.
func TestInvitationsExpire(t *testing.T) {
	t.Parallel()
	clock := apptest.NewClock(time.Now())
	s := apptest.NewWithClock(t, apptest.Config(), clock)
	team := s.NewTeam()
	ben, carl := s.Register("ben"), s.Register("carl")
	late := invite(s, team.Owner, team.OrgID, ben.Email, "member")
	clock.Advance(7*24*time.Hour - time.Minute)
	inTime := invite(s, team.Owner, team.OrgID, carl.Email, "member")
	if res := accept(s, carl, inTime.Token); res.Status != 200 {
		t.Fatalf("accept within 7 days: %d %s", res.Status, res.Body)
	}
	clock.Advance(2 * time.Minute)
	apptest.WantProblem(t, accept(s, ben, late.Token), 404, "invitation_not_found")
	if st := listed(s, team.Owner, team.OrgID, "")[late.ID]["status"]; st != "expired" {
		t.Fatalf("status %v", st)
	}
	if p := listed(s, team.Owner, team.OrgID, "?status=expired"); len(p) != 1 || p[late.ID] == nil {
		t.Fatalf("expired: %v", p)
	}
	var mine struct{ Items []any }
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/api/v1/invitations", Token: ben.Token}).Decode(t, &mine)
	if len(mine.Items) != 0 {
		t.Fatalf("an expired invitation is listed to its invitee: %v", mine)
	}
	// An expired invitation is not replaced but stays expired; the new one works.
	fresh := invite(s, team.Owner, team.OrgID, ben.Email, "member")
	if st := listed(s, team.Owner, team.OrgID, "")[late.ID]["status"]; st != "expired" {
		t.Fatalf("status %v", st)
	}
	if res := accept(s, ben, fresh.Token); res.Status != 200 {
		t.Fatalf("accept: %d %s", res.Status, res.Body)
	}
}

// Accepting gives the lower of the invited role and the inviter's role now; an inviter who
// is no longer owner or admin, or no longer a member, voids their invitations.
func TestTheInvitersCurrentRoleBoundsTheInvitation(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	second := s.Register("second")
	s.AddMember(team.Owner, team.OrgID, second, "owner")
	ben, carl, dora := s.Register("ben"), s.Register("carl"), s.Register("dora")

	// An owner who invited an owner and is an admin now gives admin.
	invBen := invite(s, second, team.OrgID, ben.Email, "owner")
	s.Must(200, apptest.Req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/organizations/%d/members/%d", team.OrgID, second.ID),
		Token: team.Owner.Token, Body: map[string]any{"role": "admin"}})
	res := accept(s, ben, invBen.Token)
	if res.Status != 200 || res.JSON()["organization"].(map[string]any)["role"] != "admin" {
		t.Fatalf("accept: %d %s", res.Status, res.Body)
	}
	if r := roleIn(s, team.Owner, team.OrgID, ben); r != "admin" {
		t.Fatalf("role %q, want admin", r)
	}

	// An admin demoted to manager voids their invitation.
	invCarl := invite(s, team.Admin, team.OrgID, carl.Email, "member")
	s.Must(200, apptest.Req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/organizations/%d/members/%d", team.OrgID, team.Admin.ID),
		Token: team.Owner.Token, Body: map[string]any{"role": "manager"}})
	apptest.WantProblem(t, accept(s, carl, invCarl.Token), 404, "invitation_not_found")
	if st := listed(s, team.Owner, team.OrgID, "")[invCarl.ID]["status"]; st != "revoked" {
		t.Fatalf("status %v of a demoted inviter's invitation", st)
	}
	// Promoting the inviter again does not bring it back.
	s.Must(200, apptest.Req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/organizations/%d/members/%d", team.OrgID, team.Admin.ID),
		Token: team.Owner.Token, Body: map[string]any{"role": "admin"}})
	apptest.WantProblem(t, accept(s, carl, invCarl.Token), 404, "invitation_not_found")

	// An inviter who leaves voids theirs.
	invDora := invite(s, second, team.OrgID, dora.Email, "member")
	s.Must(http.StatusNoContent, apptest.Req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/organizations/%d/members/%d", team.OrgID, second.ID),
		Token: team.Owner.Token})
	apptest.WantProblem(t, accept(s, dora, invDora.Token), 404, "invitation_not_found")
	if r := roleIn(s, team.Owner, team.OrgID, dora); r != "" {
		t.Fatalf("dora joined as %q", r)
	}
}

// Concurrent accepts of one token make exactly one membership; the others are 404.
func TestConcurrentAcceptsJoinOnce(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	ben := s.Register("ben")
	inv := invite(s, team.Owner, team.OrgID, ben.Email, "member")
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = accept(s, ben, inv.Token).Status
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		switch st {
		case 200:
			ok++
		case 404, 409:
		default:
			t.Fatalf("statuses %v", statuses)
		}
	}
	if ok != 1 {
		t.Fatalf("%d accepts succeeded (%v), want 1", ok, statuses)
	}
	if r := roleIn(s, team.Owner, team.OrgID, ben); r != "member" {
		t.Fatalf("role %q", r)
	}
}

// Signing up with an invitation joins its organization and creates none; a token for another
// email, or one that is unknown or used, creates no user; neither or both of organization_name
// and invitation_token is 400.
func TestRegisterWithAnInvitation(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	inv := invite(s, team.Admin, team.OrgID, "Newbie@Example.com", "manager")
	register := func(body map[string]any) apptest.Response {
		return s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/register", Body: body})
	}
	body := func(email, token string) map[string]any {
		return map[string]any{"email": email, "password": "password123", "name": "New", "invitation_token": token}
	}

	apptest.WantProblem(t, register(body("someone.else@example.com", inv.Token)), 403, "invitation_email_mismatch")
	apptest.WantProblem(t, register(body("newbie@example.com", "inv_unknown")), 404, "invitation_not_found")
	m := apptest.WantProblem(t, register(map[string]any{"email": "newbie@example.com", "password": "password123", "name": "New"}), 400, "validation_failed")
	if f := apptest.ProblemFields(m); len(f) != 1 || f[0] != "organization_name" {
		t.Fatalf("fields %v", f)
	}
	both := body("newbie@example.com", inv.Token)
	both["organization_name"] = "Mine"
	m = apptest.WantProblem(t, register(both), 400, "validation_failed")
	if f := apptest.ProblemFields(m); len(f) != 1 || f[0] != "invitation_token" {
		t.Fatalf("fields %v", f)
	}
	// A missing target is named with every other invalid field.
	m = apptest.WantProblem(t, register(map[string]any{"email": "bad", "password": "password123", "name": "New"}), 400, "validation_failed")
	if f := apptest.ProblemFields(m); len(f) != 2 || f[0] != "email" || f[1] != "organization_name" {
		t.Fatalf("fields %v", f)
	}
	// None of these left a user behind: a sign-in fails and the email is free.
	apptest.WantProblem(t, s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/login",
		Body: map[string]any{"email": "someone.else@example.com", "password": "password123"}}), 401, "invalid_credentials")

	res := register(body("newbie@example.com", inv.Token))
	if res.Status != 201 {
		t.Fatalf("register: %d %s", res.Status, res.Body)
	}
	out := res.JSON()
	org := out["organization"].(map[string]any)
	if int64(org["id"].(float64)) != team.OrgID || org["role"] != "manager" {
		t.Fatalf("organization %v", org)
	}
	token := out["access_token"].(string)
	mine := myOrganizations(s, token)
	if len(mine) != 1 || int64(mine[0]["id"].(float64)) != team.OrgID {
		t.Fatalf("organizations of the new user: %v", mine)
	}
	// The token is used up: registering another account with it fails.
	apptest.WantProblem(t, register(body("NEWBIE2@example.com", inv.Token)), 404, "invitation_not_found")
	if it := listed(s, team.Owner, team.OrgID, "")[inv.ID]; it["status"] != "accepted" {
		t.Fatalf("status %v", it)
	}
}

// Only the hash of a token is at rest.
func TestTokensAreStoredHashed(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	inv := invite(s, team.Owner, team.OrgID, "h@example.com", "member")
	conn, err := pgx.Connect(context.Background(), s.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var found bool
	if err := conn.QueryRow(context.Background(),
		`SELECT EXISTS (SELECT 1 FROM invitations WHERE position($1::bytea IN token_hash) > 0 OR token_hash = convert_to($2, 'UTF8'))`,
		[]byte(inv.Token[4:20]), inv.Token).Scan(&found); err != nil {
		t.Fatal(err)
	}
	var hashed bool
	if err := conn.QueryRow(context.Background(),
		`SELECT token_hash = sha256(convert_to($1, 'UTF8')) FROM invitations WHERE id = $2`, inv.Token, inv.ID).Scan(&hashed); err != nil {
		t.Fatal(err)
	}
	if found || !hashed {
		t.Fatalf("token at rest: found %v, hashed %v", found, hashed)
	}
}

// Invitation routes are for people: an API key is refused on every one, whatever its role.
func TestAPIKeysCannotInvite(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	res := s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: fmt.Sprintf("/api/v1/organizations/%d/api-keys", team.OrgID),
		Token: team.Owner.Token, Body: map[string]any{"name": "k", "role": "admin"}})
	key := res.JSON()["token"].(string)
	for _, r := range []apptest.Req{
		{Method: "GET", Path: invitationsPath(team.OrgID, "")},
		{Method: "POST", Path: invitationsPath(team.OrgID, ""), Body: map[string]any{"email": "k@example.com", "role": "member"}},
		{Method: "DELETE", Path: invitationsPath(team.OrgID, "/1")},
		{Method: "GET", Path: "/api/v1/invitations"},
		{Method: "POST", Path: "/api/v1/invitations/accept", Body: map[string]any{"token": "inv_x"}},
	} {
		r.Token = key
		apptest.WantProblem(t, s.Do(r), 403, "api_key_not_allowed")
	}
}

// Accept and sign-up honour Idempotency-Key: a retry with the same key replays the first
// answer, and joins nobody twice; without a key a second accept finds the token used.
func TestAcceptAndRegisterReplay(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	ben := s.Register("ben")
	inv := invite(s, team.Owner, team.OrgID, ben.Email, "member")
	send := func() apptest.Response {
		return s.Do(apptest.Req{Method: "POST", Path: "/api/v1/invitations/accept", Token: ben.Token,
			Body: map[string]any{"token": inv.Token}, Headers: map[string]string{"Idempotency-Key": "accept-1"}})
	}
	first, again := send(), send()
	if first.Status != 200 || again.Status != 200 || string(first.Body) != string(again.Body) ||
		again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d %s / again %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	apptest.WantProblem(t, accept(s, ben, inv.Token), 404, "invitation_not_found")

	inv2 := invite(s, team.Owner, team.OrgID, "replayed@example.com", "member")
	reg := func() apptest.Response {
		return s.Do(apptest.Req{Method: "POST", Path: "/api/v1/auth/register", Headers: map[string]string{"Idempotency-Key": "reg-1"},
			Body: map[string]any{"email": "replayed@example.com", "password": "password123", "name": "R", "invitation_token": inv2.Token}})
	}
	r1, r2 := reg(), reg()
	if r1.Status != 201 || r2.Status != 201 || string(r1.Body) != string(r2.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("register %d %s / again %d %s", r1.Status, r1.Body, r2.Status, r2.Body)
	}
}

// Joining with an invitation writes member.added, the member as the members list renders
// it, with the joining user as actor; a refused accept writes nothing.
func TestAcceptRecordsMemberAdded(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	ben := s.Register("ben")
	inv := invite(s, team.Admin, team.OrgID, ben.Email, "member")
	feed := s.Follow(team.Owner.Token, team.OrgID)
	apptest.WantProblem(t, accept(s, team.Outsider, inv.Token), 403, "invitation_email_mismatch")
	if res := accept(s, ben, inv.Token); res.Status != 200 {
		t.Fatalf("accept: %d %s", res.Status, res.Body)
	}
	evs := feed.Next()
	if got := apptest.Types(evs); len(got) != 1 || got[0] != "member.added" {
		t.Fatalf("events %v", got)
	}
	evs[0].WantUser(t, ben)
	var page struct{ Items []json.RawMessage }
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/organizations/%d/members?page_size=100", team.OrgID),
		Token: team.Owner.Token}).Decode(t, &page)
	for _, raw := range page.Items {
		var m struct {
			UserID int64 `json:"user_id"`
		}
		_ = json.Unmarshal(raw, &m)
		if m.UserID == ben.ID {
			evs[0].WantObject(t, raw)
			return
		}
	}
	t.Fatal("ben is not listed")
}
