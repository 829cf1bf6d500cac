package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// feedEnv is the timeline on a database with the change feed, acting as user 7 of
// organization 1.
type feedEnv struct {
	s      *Service
	outbox *events.Outbox
	ctx    context.Context
}

func newFeedEnv(t *testing.T) feedEnv {
	t.Helper()
	db := testdb.New(t, []migrate.Source{{Module: "database", FS: database.Migrations()},
		{Module: "events", FS: events.Migrations()}, {Module: "timeline", FS: Migrations()}})
	outbox := events.New(db)
	ctx := auth.WithPrincipal(database.WithUser(database.WithTenant(context.Background(), 1), 7),
		auth.Principal{UserID: 7, OrgID: 1, Role: auth.RoleMember})
	return feedEnv{s: newService(db, outbox), outbox: outbox, ctx: ctx}
}

// events returns the organization's events sequenced so far, oldest first, after skip.
func (e feedEnv) events(t *testing.T, skip int) []events.Event {
	t.Helper()
	if _, err := e.outbox.Sequence(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs, err := e.outbox.Page(e.ctx, events.Query{OrgID: 1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs[skip:]
}

// eventData is the data of an event: its object and previous attributes.
func eventData(t *testing.T, ev events.Event) (object, previous map[string]any) {
	t.Helper()
	var data struct {
		Object   map[string]any `json:"object"`
		Previous map[string]any `json:"previous_attributes"`
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		t.Fatal(err)
	}
	return data.Object, data.Previous
}

// rendered is an activity as the timeline renders it, with the object member of an event.
func rendered(s *Service, a timelineapi.Activity) map[string]any {
	raw, _ := json.Marshal(s.Render(a))
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	m["object"] = "activity"
	return m
}

func comment(t *testing.T, e feedEnv, dealID, author int64, text string) timelineapi.Activity {
	t.Helper()
	a, err := e.s.Comment(e.ctx, 1, dealID, author, timelineapi.TypeComment, json.RawMessage(fmt.Sprintf(`{"text":%q}`, text)))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func edit(e feedEnv, dealID, id, editor int64, payload string) (timelineapi.Activity, error) {
	return e.s.EditComment(e.ctx, timelineapi.CommentEdit{OrgID: 1, DealID: dealID, ID: id, EditorID: editor, Payload: json.RawMessage(payload)})
}

// An edit by the author replaces the text, sets edited_at and records activity.updated with
// the new rendering and the old values of what changed; a removal records activity.deleted
// with the last state. Edits that change nothing or are refused record nothing.
func TestCommentEditsAndRemovalsRecordTheirEvents(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t)
	c := comment(t, e, 10, 7, "first")
	if c.EditedAt != nil || rendered(e.s, c)["edited_at"] != nil {
		t.Fatalf("a new comment is rendered edited: %+v", rendered(e.s, c))
	}
	if _, ok := rendered(e.s, c)["edited_at"]; !ok {
		t.Fatal("edited_at is not part of the rendering")
	}
	skip := len(e.events(t, 0))

	edited, err := edit(e, 10, c.ID, 7, `{"text":"second"}`)
	if err != nil {
		t.Fatal(err)
	}
	if edited.EditedAt == nil || string(edited.Payload) != `{"text": "second"}` || !edited.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("edited: %+v payload %s", edited, edited.Payload)
	}
	evs := e.events(t, skip)
	if len(evs) != 1 || evs[0].Type != "activity.updated" {
		t.Fatalf("events %+v", evs)
	}
	obj, prev := eventData(t, evs[0])
	if !reflect.DeepEqual(obj, rendered(e.s, edited)) {
		t.Fatalf("object %v, want %v", obj, rendered(e.s, edited))
	}
	if !reflect.DeepEqual(prev, map[string]any{"payload": map[string]any{"text": "first"}, "edited_at": nil}) {
		t.Fatalf("previous_attributes %v", prev)
	}
	if evs[0].Actor.Type != "user" || *evs[0].Actor.ID != 7 {
		t.Fatalf("actor %+v", evs[0].Actor)
	}

	// The same text again: nothing written, edited_at kept, no event.
	same, err := edit(e, 10, c.ID, 7, `{"text":"second"}`)
	if err != nil || !same.EditedAt.Equal(*edited.EditedAt) {
		t.Fatalf("repeated edit: %+v %v", same, err)
	}
	// Refused edits and removals leave the comment and the feed as they are.
	other := comment(t, e, 10, 8, "by someone else")
	system, err := e.s.Append(e.ctx, timelineapi.NewActivity{OrgID: 1, DealID: 10, Type: timelineapi.TypeStatusChanged,
		Payload: map[string]string{"from": "new", "to": "won"}})
	if err != nil {
		t.Fatal(err)
	}
	foreign := comment(t, e, 11, 7, "on another deal")
	skip = len(e.events(t, 0))
	for _, tt := range []struct {
		name    string
		id      int64
		deal    int64
		payload string
		want    error
	}{
		{"someone else's", other.ID, 10, `{"text":"mine now"}`, timelineapi.ErrNotAuthor},
		{"not a comment", system.ID, 10, `{"text":"x"}`, timelineapi.ErrNotEditable},
		{"on another deal", foreign.ID, 10, `{"text":"x"}`, timelineapi.ErrActivityNotFound},
		{"never existed", 999999, 10, `{"text":"x"}`, timelineapi.ErrActivityNotFound},
	} {
		if _, err := edit(e, tt.deal, tt.id, 7, tt.payload); !errors.Is(err, tt.want) {
			t.Errorf("edit %s: %v, want %v", tt.name, err, tt.want)
		}
		if err := e.s.DeleteComment(e.ctx, timelineapi.CommentRemoval{OrgID: 1, DealID: tt.deal, ID: tt.id, UserID: 7}); !errors.Is(err, tt.want) {
			t.Errorf("delete %s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := edit(e, 10, c.ID, 7, `{"text":"   "}`); err == nil {
		t.Fatal("blank text accepted")
	}
	if _, err := edit(e, 10, c.ID, 7, `{"text":"x","pinned":true}`); err == nil {
		t.Fatal("unknown payload field accepted")
	}
	if evs := e.events(t, skip); len(evs) != 0 {
		t.Fatalf("refused writes recorded %d events", len(evs))
	}

	// A moderator removes someone else's comment; the author removes their own.
	last := edited
	if err := e.s.DeleteComment(e.ctx, timelineapi.CommentRemoval{OrgID: 1, DealID: 10, ID: other.ID, UserID: 7, AnyAuthor: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteComment(e.ctx, timelineapi.CommentRemoval{OrgID: 1, DealID: 10, ID: c.ID, UserID: 7}); err != nil {
		t.Fatal(err)
	}
	evs = e.events(t, skip)
	if len(evs) != 2 || evs[0].Type != "activity.deleted" || evs[1].Type != "activity.deleted" {
		t.Fatalf("events %+v", evs)
	}
	for i, want := range []timelineapi.Activity{other, last} {
		obj, prev := eventData(t, evs[i])
		if !reflect.DeepEqual(obj, rendered(e.s, want)) || prev != nil {
			t.Fatalf("deleted %d: object %v previous %v, want %v", i, obj, prev, rendered(e.s, want))
		}
	}
	items, _, err := list(e.s, e.ctx, 1, 10, 20, 0)
	if err != nil || len(items) != 1 || items[0].ID != system.ID {
		t.Fatalf("timeline after the removals: %+v %v", items, err)
	}
	if _, err := edit(e, 10, c.ID, 7, `{"text":"again"}`); !errors.Is(err, timelineapi.ErrActivityNotFound) {
		t.Fatalf("edit of a removed comment: %v", err)
	}
}

// An edit and a removal of one comment at once run one after the other on the comment's row
// lock: either the edit comes first (activity.updated, then activity.deleted carrying the
// edited text) or the removal does (activity.deleted with the original text, and the edit
// finds nothing). No event ever describes a change that did not happen.
func TestConcurrentEditAndRemovalNeverLeaveAnEventWithoutItsChange(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t)
	const rounds = 20
	type outcome struct {
		id       int64
		editErr  error
		edited   timelineapi.Activity
		original timelineapi.Activity
	}
	var outcomes []outcome
	skip := 0
	for i := range rounds {
		c := comment(t, e, 10, 7, fmt.Sprint("original ", i))
		var wg sync.WaitGroup
		start := make(chan struct{})
		var o = outcome{id: c.ID, original: c}
		var delErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			o.edited, o.editErr = edit(e, 10, c.ID, 7, fmt.Sprintf(`{"text":"edited %d"}`, i))
		}()
		go func() {
			defer wg.Done()
			<-start
			delErr = e.s.DeleteComment(e.ctx, timelineapi.CommentRemoval{OrgID: 1, DealID: 10, ID: c.ID, UserID: 7})
		}()
		close(start)
		wg.Wait()
		if delErr != nil {
			t.Fatalf("round %d: delete: %v", i, delErr)
		}
		if o.editErr != nil && !errors.Is(o.editErr, timelineapi.ErrActivityNotFound) {
			t.Fatalf("round %d: edit: %v", i, o.editErr)
		}
		outcomes = append(outcomes, o)
	}
	evs := e.events(t, skip)
	byID := map[int64][]events.Event{}
	for _, ev := range evs {
		obj, _ := eventData(t, ev)
		id := int64(obj["id"].(float64))
		byID[id] = append(byID[id], ev)
	}
	for _, o := range outcomes {
		got := byID[o.id]
		var types []string
		for _, ev := range got {
			types = append(types, ev.Type)
		}
		if o.editErr == nil {
			if !reflect.DeepEqual(types, []string{"activity.created", "activity.updated", "activity.deleted"}) {
				t.Fatalf("comment %d edited then removed: events %v", o.id, types)
			}
			if obj, _ := eventData(t, got[2]); !reflect.DeepEqual(obj, rendered(e.s, o.edited)) {
				t.Fatalf("comment %d: deleted carries %v, want the edited state %v", o.id, obj, rendered(e.s, o.edited))
			}
			continue
		}
		if !reflect.DeepEqual(types, []string{"activity.created", "activity.deleted"}) {
			t.Fatalf("comment %d removed before the edit: events %v", o.id, types)
		}
		if obj, _ := eventData(t, got[1]); !reflect.DeepEqual(obj, rendered(e.s, o.original)) {
			t.Fatalf("comment %d: deleted carries %v, want the original %v", o.id, obj, rendered(e.s, o.original))
		}
	}
	if items, _, _ := list(e.s, e.ctx, 1, 10, 20, 0); len(items) != 0 {
		t.Fatalf("%d comments survived their removal", len(items))
	}
}
