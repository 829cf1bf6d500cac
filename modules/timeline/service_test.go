package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// newTestService runs on a database holding the timeline's own schema only: the module
// depends on nothing, and its tests prove it.
func newTestService(t *testing.T) (*Service, *database.DB) {
	t.Helper()
	db := testdb.New(t, []migrate.Source{{Module: "database", FS: database.Migrations()}, {Module: "timeline", FS: Migrations()}})
	return newService(db, nil), db
}

func appendOrFail(t *testing.T, s *Service, a timelineapi.NewActivity) timelineapi.Activity {
	t.Helper()
	got, err := s.Append(database.WithTenant(context.Background(), a.OrgID), a)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return got
}

func TestAppendAndListNewestFirst(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t)
	ctx := database.WithTenant(context.Background(), 1) // the pool runs under row-level security
	author := int64(7)
	first := appendOrFail(t, s, timelineapi.NewActivity{OrgID: 1, DealID: 10, Type: timelineapi.TypeSystem,
		Payload: map[string]string{"event": "deal_created"}})
	if first.AuthorID != nil || first.OrganizationID != 1 || first.DealID != 10 || string(first.Payload) != `{"event": "deal_created"}` {
		t.Fatalf("appended: %+v payload %s", first, first.Payload)
	}
	second := appendOrFail(t, s, timelineapi.NewActivity{OrgID: 1, DealID: 10, AuthorID: &author, Type: timelineapi.TypeStatusChanged,
		Payload: map[string]string{"from": "new", "to": "won"}})
	third, err := s.Comment(ctx, 1, 10, author, "comment", json.RawMessage(`{"text":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	if third.AuthorID == nil || *third.AuthorID != author || third.Type != "comment" {
		t.Fatalf("comment: %+v", third)
	}
	// Another deal of the same organization, and the same deal id in another organization.
	appendOrFail(t, s, timelineapi.NewActivity{OrgID: 1, DealID: 11, Type: "system"})
	appendOrFail(t, s, timelineapi.NewActivity{OrgID: 2, DealID: 10, Type: "system"})

	items, total, err := list(s, ctx, 1, 10, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(items) != 2 || items[0].ID != third.ID || items[1].ID != second.ID {
		t.Fatalf("page 1: total %d items %+v", total, items)
	}
	items, total, err = list(s, ctx, 1, 10, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(items) != 1 || items[0].ID != first.ID {
		t.Fatalf("page 2: total %d items %+v", total, items)
	}
	for _, a := range items {
		if a.OrganizationID != 1 || a.DealID != 10 {
			t.Fatalf("foreign activity listed: %+v", a)
		}
	}
	items, total, err = list(s, ctx, 3, 10, 20, 0)
	if err != nil || total != 0 || len(items) != 0 {
		t.Fatalf("unknown organization: %v %d %v", items, total, err)
	}
}

func TestAppendJoinsCallerTransaction(t *testing.T) {
	t.Parallel()
	s, db := newTestService(t)
	ctx := database.WithTenant(context.Background(), 1) // the pool runs under row-level security
	boom := errors.New("boom")
	err := db.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := s.Append(ctx, timelineapi.NewActivity{OrgID: 1, DealID: 1, Type: "system"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, total, _ := list(s, ctx, 1, 1, 20, 0); total != 0 {
		t.Fatalf("activity survived the rollback of its transaction: %d", total)
	}
	err = db.WithinTx(ctx, func(ctx context.Context) error {
		_, err := s.Append(ctx, timelineapi.NewActivity{OrgID: 1, DealID: 1, Type: "system"})
		return err
	})
	if _, total, _ := list(s, ctx, 1, 1, 20, 0); err != nil || total != 1 {
		t.Fatalf("committed activity missing: %v %d", err, total)
	}
}

func TestAppendRejectsBadInput(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t)
	ctx := database.WithTenant(context.Background(), 1) // the pool runs under row-level security
	if _, err := s.Append(ctx, timelineapi.NewActivity{OrgID: 1, DealID: 1, Type: "Bad Type"}); err == nil {
		t.Fatal("bad type accepted")
	}
	if _, err := s.Append(ctx, timelineapi.NewActivity{OrgID: 1, DealID: 1, Type: "system", Payload: []string{"x"}}); err == nil {
		t.Fatal("array payload accepted")
	}
	if _, err := s.Comment(ctx, 1, 1, 5, "system", json.RawMessage(`{"text":"x"}`)); !errors.Is(err, timelineapi.ErrTypeNotAllowed) {
		t.Fatalf("system comment: %v", err)
	}
	if _, total, _ := list(s, ctx, 1, 1, 20, 0); total != 0 {
		t.Fatalf("rejected activities were stored: %d", total)
	}
}

// list reads an offset page with its total.
func list(s *Service, ctx context.Context, orgID, dealID int64, limit, offset uint64) ([]timelineapi.Activity, int64, error) {
	p, err := s.List(ctx, orgID, dealID, listing.Window{Limit: limit, Offset: offset, Count: true})
	if err != nil {
		return nil, 0, err
	}
	return p.Items, *p.Total, nil
}
