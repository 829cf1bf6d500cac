package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// Every activity appended writes its activity.created event in the same transaction: the
// activity as the timeline renders it (Render), the caller as actor; a rollback takes both,
// and outside a caller's transaction the two get one of their own.
func TestAppendRecordsActivityCreated(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, []migrate.Source{{Module: "database", FS: database.Migrations()},
		{Module: "events", FS: events.Migrations()}, {Module: "timeline", FS: Migrations()}})
	outbox := events.New(db)
	s := newService(db, outbox)
	ctx := auth.WithPrincipal(database.WithUser(database.WithTenant(context.Background(), 1), 7),
		auth.Principal{UserID: 7, OrgID: 1, Role: auth.RoleMember})
	author := int64(7)

	var comment timelineapi.Activity
	err := db.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := s.Append(ctx, timelineapi.NewActivity{OrgID: 1, DealID: 10, Type: timelineapi.TypeSystem,
			Payload: map[string]string{"event": "deal_created"}}); err != nil {
			return err
		}
		var err error
		comment, err = s.Comment(ctx, 1, 10, author, timelineapi.TypeComment, json.RawMessage(`{"text":"hi"}`))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = db.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := s.Append(ctx, timelineapi.NewActivity{OrgID: 1, DealID: 10, Type: "system"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, timelineapi.NewActivity{OrgID: 1, DealID: 10, Type: "system"}); err != nil {
		t.Fatalf("append outside a transaction: %v", err)
	}
	if _, total, _ := list(s, ctx, 1, 10, 20, 0); total != 3 {
		t.Fatalf("%d activities, want the 3 committed ones", total)
	}

	if _, err := outbox.Sequence(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs, err := outbox.Page(ctx, events.Query{OrgID: 1, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3", len(evs))
	}
	rendered, _ := json.Marshal(s.Render(comment))
	var want, got map[string]any
	_ = json.Unmarshal(rendered, &want)
	want["object"] = "activity"
	var data struct {
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(evs[1].Data, &data); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(data.Object, &got)
	for _, e := range evs {
		if e.Type != "activity.created" || e.Actor.Type != "user" || e.Actor.ID == nil || *e.Actor.ID != 7 {
			t.Fatalf("event %s actor %+v", e.Type, e.Actor)
		}
	}
	if !reflect.DeepEqual(got, want) || got["type"] != "comment" {
		t.Fatalf("data.object %s, want %s", data.Object, rendered)
	}
}
