package app_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
)

// feedPage reads GET /events with query q as u and makes the outbox sequence first, as the
// service's background work would.
func feedPage(t *testing.T, s *apptest.Server, u apptest.User, org int64, q string) apptest.Response {
	t.Helper()
	if _, err := s.App.Outbox.Sequence(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s.Do(apptest.Req{Method: "GET", Path: "/api/v1/events" + q, Token: u.Token, Org: org})
}

// emit records c in org in a transaction of its own, as a write of the organization would.
func emit(t *testing.T, s *apptest.Server, org int64, c events.Change) {
	t.Helper()
	c.OrgID = org
	if c.Actor == nil {
		c.Actor = events.System
	}
	err := s.App.DB.WithinTx(database.WithTenant(context.Background(), org), func(ctx context.Context) error {
		_, err := s.App.Outbox.Record(ctx, c)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

type feedAnswer struct {
	Items      []events.Event `json:"items"`
	NextCursor string         `json:"next_cursor"`
	HasMore    bool           `json:"has_more"`
}

func readFeed(t *testing.T, s *apptest.Server, u apptest.User, org int64, q string) feedAnswer {
	t.Helper()
	res := feedPage(t, s, u, org, q)
	if res.Status != 200 {
		t.Fatalf("GET /events%s: %d %s", q, res.Status, res.Body)
	}
	var f feedAnswer
	res.Decode(t, &f)
	if f.NextCursor == "" {
		t.Fatalf("GET /events%s: next_cursor is empty: %s", q, res.Body)
	}
	return f
}

func TestTheFeedFollowsACursorToTheHeadAndPollsFromThere(t *testing.T) {
	t.Parallel()
	clock := apptest.NewClock(time.Now())
	s := apptest.NewWithClock(t, apptest.Config(), clock)
	team := s.NewTeam()
	owner := team.Owner
	// A consumer that starts at the head sees only what happens after it started.
	head := readFeed(t, s, owner, team.OrgID, "?since=now")
	if len(head.Items) != 0 || head.HasMore {
		t.Fatalf("since=now: %+v", head)
	}
	for _, name := range []string{"Ann", "Bob", "Cid"} {
		emit(t, s, team.OrgID, events.Change{Type: "contact.created", Object: map[string]any{"name": name}})
	}
	emit(t, s, team.OrgID, events.Change{Type: "deal.created", Object: map[string]any{"title": "filtered out"}})
	var seen []string
	cursor := head.NextCursor
	for range 10 {
		f := readFeed(t, s, owner, team.OrgID, "?type=contact.created&page_size=2&cursor="+url.QueryEscape(cursor))
		for _, e := range f.Items {
			if e.Type != "contact.created" || e.OrganizationID != team.OrgID {
				t.Fatalf("unexpected event %+v", e)
			}
			seen = append(seen, e.ID)
		}
		if len(f.Items) == 2 != f.HasMore {
			t.Fatalf("has_more %v with %d items of 2 (3 events in all)", f.HasMore, len(f.Items))
		}
		cursor = f.NextCursor
		if !f.HasMore {
			break
		}
	}
	if len(seen) != 3 {
		t.Fatalf("followed the cursor and saw %d contact.created events, want 3: %v", len(seen), seen)
	}
	// At the head: nothing new, and the cursor still works for the next poll.
	idle := readFeed(t, s, owner, team.OrgID, "?type=contact.created&cursor="+url.QueryEscape(cursor))
	if len(idle.Items) != 0 || idle.HasMore {
		t.Fatalf("at the head: %+v", idle)
	}
	emit(t, s, team.OrgID, events.Change{Type: "contact.created", Object: map[string]any{"name": "Dee"}})
	next := readFeed(t, s, owner, team.OrgID, "?type=contact.created&cursor="+url.QueryEscape(idle.NextCursor))
	if len(next.Items) != 1 || next.Items[0].Type != "contact.created" {
		t.Fatalf("the poll after a new contact: %+v", next)
	}
	// The outsider's organization has a feed of its own that holds none of this.
	other := readFeed(t, s, team.Outsider, team.Outsider.OrgID, "?type=contact.created")
	if len(other.Items) != 0 {
		t.Fatalf("the outsider sees %d contact events of another organization", len(other.Items))
	}
	// A cursor older than the retention is refused rather than followed past removed events.
	clock.Advance(721 * time.Hour)
	apptest.WantProblem(t, feedPage(t, s, owner, team.OrgID, "?cursor="+url.QueryEscape(next.NextCursor)), 410, "cursor_expired")
}

func TestTheFeedRefusesBadParametersNamingThem(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	for q, field := range map[string]string{
		"?page_size=0":             "page_size",
		"?page_size=1001":          "page_size",
		"?type=deal.updated,bogus": "type",
		"?type=webhook.ping":       "type",
		"?since=yesterday":         "since",
		"?since=now&cursor=abc":    "since",
	} {
		p := apptest.WantProblem(t, feedPage(t, s, team.Owner, team.OrgID, q), 400, "invalid_query")
		if got := apptest.ProblemFields(p); len(got) == 0 || got[0] != field {
			t.Errorf("%s: fields %v, want %s", q, got, field)
		}
		if q == "?type=deal.updated,bogus" && !strings.Contains(string(feedPage(t, s, team.Owner, team.OrgID, q).Body), "bogus") {
			t.Errorf("%s: the problem does not name the unknown type", q)
		}
	}
	apptest.WantProblem(t, feedPage(t, s, team.Owner, team.OrgID, "?cursor=abc"), 400, "invalid_cursor")
	// A cursor of another list is not a feed cursor.
	list := s.Must(200, apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/organizations/%d/members?page_size=1", team.OrgID),
		Token: team.Owner.Token}).JSON()
	if c, ok := list["next_cursor"].(string); ok && c != "" {
		apptest.WantProblem(t, feedPage(t, s, team.Owner, team.OrgID, "?cursor="+url.QueryEscape(c)), 400, "invalid_cursor")
	}
}

// Events about access (API keys, webhooks) are listed to owners and admins only, and events
// meant for one webhook endpoint are never listed.
func TestTheFeedShowsAccessEventsOnlyToOwnersAndAdmins(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	for _, c := range []events.Change{
		{Type: "api_key.created", Object: map[string]any{"id": 1, "name": "k"}, Audience: events.Managers},
		{Type: events.Ping, Object: map[string]any{"id": 1}, Audience: events.EndpointOnly},
		{Type: "contact.updated", Object: map[string]any{"id": 1}},
	} {
		emit(t, s, team.OrgID, c)
	}
	types := func(role string) []string {
		var out []string
		for _, e := range readFeed(t, s, team.As(role), team.OrgID, "?type=api_key.created&type=contact.updated").Items {
			out = append(out, e.Type)
		}
		return out
	}
	for role, want := range map[string]string{
		"owner": "api_key.created contact.updated", "admin": "api_key.created contact.updated",
		"manager": "contact.updated", "member": "contact.updated",
	} {
		if got := strings.Join(types(role), " "); got != want {
			t.Errorf("%s reads %q, want %q", role, got, want)
		}
	}
	for _, e := range readFeed(t, s, team.Owner, team.OrgID, "").Items {
		if e.Type == events.Ping {
			t.Error("webhook.ping is listed in the feed")
		}
	}
}

// No event ever holds a token, a secret or a password hash: the feed, read from its start by
// the owner (who reads every event), after a sign-up, a member added, an API key created and
// revoked, a webhook created, its secret rotated, pinged and deleted, contains none of the
// secrets those answers showed, nor anything shaped like one.
func TestNoEventHoldsATokenASecretOrAPasswordHash(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	owner := team.Owner
	keys := fmt.Sprintf("/api/v1/organizations/%d/api-keys", team.OrgID)
	key := s.Must(201, apptest.Req{Method: "POST", Path: keys, Token: owner.Token, Body: map[string]any{"name": "sync", "role": "admin"}}).JSON()
	s.Must(204, apptest.Req{Method: "DELETE", Path: fmt.Sprintf("%s/%v", keys, key["id"]), Token: owner.Token})
	hook := s.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/webhooks", Token: owner.Token, Org: team.OrgID,
		Body: map[string]any{"url": "https://hooks.example.com/in", "events": []string{"*"}}}).JSON()
	hookPath := fmt.Sprintf("/api/v1/webhooks/%v", hook["id"])
	rotated := s.Must(200, apptest.Req{Method: "POST", Path: hookPath + "/rotate-secret", Token: owner.Token, Org: team.OrgID}).JSON()
	s.Must(202, apptest.Req{Method: "POST", Path: hookPath + "/ping", Token: owner.Token, Org: team.OrgID})
	s.Must(204, apptest.Req{Method: "DELETE", Path: hookPath, Token: owner.Token, Org: team.OrgID})

	secrets := []string{key["token"].(string), hook["secret"].(string), rotated["secret"].(string), owner.Token}
	var all strings.Builder
	cursor := ""
	for range 50 {
		q := "?page_size=1000"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		f := readFeed(t, s, owner, team.OrgID, q)
		for _, e := range f.Items {
			all.WriteString(e.Type + " " + string(e.Data) + "\n")
		}
		cursor = f.NextCursor
		if !f.HasMore {
			break
		}
	}
	feed := all.String()
	for _, want := range []string{"api_key.created", "api_key.revoked", "webhook.created", "webhook.deleted", "member.added"} {
		if !strings.Contains(feed, want) {
			t.Errorf("the feed has no %s event; the test would prove nothing about it:\n%s", want, feed)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(feed, secret) {
			t.Errorf("the feed holds a secret (%.12s…)", secret)
		}
	}
	for _, shape := range []string{"crm_", "whsec_", "$argon2", "password", "secret", "token_hash"} {
		if strings.Contains(feed, shape) {
			t.Errorf("the feed holds something shaped like a secret (%q):\n%s", shape, feed)
		}
	}
}
