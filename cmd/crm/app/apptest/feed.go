package apptest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// Event is an event of the change feed as GET /api/v1/events renders it.
type Event struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	OrganizationID int64  `json:"organization_id"`
	Actor          struct {
		Type string `json:"type"`
		ID   *int64 `json:"id"`
	} `json:"actor"`
	Data map[string]json.RawMessage `json:"data"`
}

// Feed reads an organization's change feed over HTTP, as a client following next_cursor.
type Feed struct {
	s      *Server
	token  string
	org    int64
	cursor string
}

// Follow starts reading the feed of org as the holder of token at its head: Next returns the
// events recorded from now on.
func (s *Server) Follow(token string, org int64) *Feed {
	s.T.Helper()
	f := &Feed{s: s, token: token, org: org}
	f.sequence() // what committed before is behind the head
	f.cursor = f.page("since=now").NextCursor
	return f
}

// FollowFromStart reads the feed of org as the holder of token from its oldest event.
func (s *Server) FollowFromStart(token string, org int64) *Feed {
	return &Feed{s: s, token: token, org: org}
}

type feedPage struct {
	Items      []Event `json:"items"`
	NextCursor string  `json:"next_cursor"`
	HasMore    bool    `json:"has_more"`
}

func (f *Feed) page(query string) feedPage {
	f.s.T.Helper()
	res := f.s.Must(http.StatusOK, Req{Method: "GET", Path: "/api/v1/events?" + query, Token: f.token, Org: f.org})
	var p feedPage
	res.Decode(f.s.T, &p)
	return p
}

// Next sequences the committed events (the background work does it in a running service)
// and returns every event the feed lists after the last one read.
func (f *Feed) Next() []Event {
	f.s.T.Helper()
	f.sequence()
	var out []Event
	for {
		p := f.page("page_size=1000&cursor=" + url.QueryEscape(f.cursor))
		out = append(out, p.Items...)
		f.cursor = p.NextCursor
		if !p.HasMore {
			return out
		}
	}
}

func (f *Feed) sequence() {
	f.s.T.Helper()
	if _, err := f.s.App.Outbox.Sequence(context.Background()); err != nil {
		f.s.T.Fatalf("sequence events: %v", err)
	}
}

// Types lists the types of events, in order.
func Types(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// Object returns data.object of the event without its "object" member, after checking that
// member names kind.
func (e Event) Object(t testing.TB) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal(e.Data["object"], &obj); err != nil {
		t.Fatalf("%s: data.object: %v (%s)", e.Type, err, e.Data["object"])
	}
	kind, _, _ := strings.Cut(e.Type, ".")
	if obj["object"] != kind {
		t.Fatalf("%s: data.object.object is %v, want %q", e.Type, obj["object"], kind)
	}
	delete(obj, "object")
	return obj
}

// Previous returns data.previous_attributes of the event (nil when it has none).
func (e Event) Previous(t testing.TB) map[string]any {
	t.Helper()
	raw, ok := e.Data["previous_attributes"]
	if !ok {
		return nil
	}
	var prev map[string]any
	if err := json.Unmarshal(raw, &prev); err != nil {
		t.Fatalf("%s: previous_attributes: %v", e.Type, err)
	}
	return prev
}

// WantObject fails the test unless data.object of the event, its "object" member aside, is
// the JSON object body (a GET response) member for member.
func (e Event) WantObject(t testing.TB, body []byte) {
	t.Helper()
	var want map[string]any
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if got := e.Object(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: data.object is\n%v\nwant the GET rendering\n%v", e.Type, got, want)
	}
}

// WantPrevious fails the test unless data.previous_attributes of an update holds exactly the
// members of the GET rendering before (a JSON object) that differ in after, with their old
// values.
func (e Event) WantPrevious(t testing.TB, before, after []byte) {
	t.Helper()
	var b, a map[string]any
	if err := json.Unmarshal(before, &b); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(after, &a); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{}
	for k, v := range b {
		if !reflect.DeepEqual(v, a[k]) {
			want[k] = v
		}
	}
	if got := e.Previous(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: previous_attributes %v, want %v", e.Type, got, want)
	}
}

// WantUser fails the test unless the event's actor is the user u.
func (e Event) WantUser(t testing.TB, u User) {
	t.Helper()
	if e.Actor.Type != "user" || e.Actor.ID == nil || *e.Actor.ID != u.ID {
		t.Fatalf("%s: actor %+v, want user %d", e.Type, e.Actor, u.ID)
	}
}
