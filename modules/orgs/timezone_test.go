package orgs_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// An organization has a time zone, UTC until an owner or admin sets an IANA name; a name the
// time zone database does not know is a 400 naming time_zone. Every rendering carries it.
func TestOrganizationTimeZone(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	path := orgPath(team.OrgID, "")
	if got := s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: path, Token: team.Member.Token}).JSON(); got["time_zone"] != "UTC" {
		t.Fatalf("a new organization: %v", got)
	}
	got := s.Must(http.StatusOK, apptest.Req{Method: "PATCH", Path: path, Token: team.Admin.Token,
		Body: map[string]any{"time_zone": "America/Argentina/Buenos_Aires"}}).JSON()
	if got["time_zone"] != "America/Argentina/Buenos_Aires" || got["role"] != "admin" {
		t.Fatalf("patch: %v", got)
	}
	var mine []map[string]any
	s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/api/v1/organizations/me", Token: team.Owner.Token}).Decode(t, &mine)
	if len(mine) != 1 || mine[0]["time_zone"] != "America/Argentina/Buenos_Aires" {
		t.Fatalf("mine: %v", mine)
	}
	s.Must(http.StatusForbidden, apptest.Req{Method: "PATCH", Path: path, Token: team.Manager.Token, Body: map[string]any{"time_zone": "UTC"}})
	for _, bad := range []any{"Mars/Olympus_Mons", "Local", "", "europe/berlin ", "../../etc/passwd", 3, nil} {
		res := s.Do(apptest.Req{Method: "PATCH", Path: path, Token: team.Owner.Token, Body: map[string]any{"time_zone": bad}})
		if bad == nil {
			// null is no change, like every omitted setting of this PATCH.
			if res.Status != http.StatusOK {
				t.Errorf("null: %d %s", res.Status, res.Body)
			}
			continue
		}
		m := apptest.WantProblem(t, res, http.StatusBadRequest, "validation_failed")
		if f := apptest.ProblemFields(m); len(f) != 1 || f[0] != "time_zone" {
			t.Errorf("%v: fields %v (%s)", bad, f, res.Body)
		}
	}
	if got := s.Must(http.StatusOK, apptest.Req{Method: "GET", Path: path, Token: team.Owner.Token}).JSON(); got["time_zone"] != "America/Argentina/Buenos_Aires" {
		t.Fatalf("after refused changes: %v", got)
	}
	// A new organization may name its zone; the default is UTC.
	created := s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/organizations", Token: team.Owner.Token,
		Body: map[string]any{"name": "Tokyo branch", "time_zone": "Asia/Tokyo"}}).JSON()
	if created["time_zone"] != "Asia/Tokyo" {
		t.Fatalf("create: %v", created)
	}
	s.Must(http.StatusBadRequest, apptest.Req{Method: "POST", Path: "/api/v1/organizations", Token: team.Owner.Token,
		Body: map[string]any{"name": "Nowhere", "time_zone": "Nowhere/Else"}})
}

// A date-time with an offset sent for a deal's expected_close_date is an instant, whose date
// is taken in the organization's time zone; a plain date is that date everywhere.
func TestDealCloseDateIsTakenInTheOrganizationsTimeZone(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	u := s.Register("ann")
	s.Must(http.StatusOK, apptest.Req{Method: "PATCH", Path: orgPath(u.OrgID, ""), Token: u.Token,
		Body: map[string]any{"time_zone": "Pacific/Kiritimati"}}) // UTC+14
	contact := s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: u.Token, Org: u.OrgID,
		Body: map[string]any{"name": "Clara"}}).JSON()
	deal := s.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: u.Token, Org: u.OrgID,
		Body: map[string]any{"contact_id": contact["id"], "title": "Renewal", "amount": "10", "expected_close_date": "2026-12-01T12:00:00Z"}}).JSON()
	if deal["expected_close_date"] != "2026-12-02" {
		t.Fatalf("create: %v", deal["expected_close_date"])
	}
	path := fmt.Sprintf("/api/v1/deals/%v", deal["id"])
	for in, want := range map[string]string{"2026-12-05T23:00:00-10:00": "2026-12-06", "2026-12-09": "2026-12-09",
		"2026-12-10T01:00:00": "2026-12-10"} {
		got := s.Must(http.StatusOK, apptest.Req{Method: "PATCH", Path: path, Token: u.Token, Org: u.OrgID,
			Body: map[string]any{"expected_close_date": in}}).JSON()
		if got["expected_close_date"] != want {
			t.Errorf("%s: %v, want %s", in, got["expected_close_date"], want)
		}
	}
}
