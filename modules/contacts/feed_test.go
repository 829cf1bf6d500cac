package contacts_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// backdate moves a row's updated_at an hour back, below the application, so that the next
// write changes it in the rendering (which has whole seconds).
func backdate(t *testing.T, s *apptest.Server, table string, id int64) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "UPDATE "+table+" SET updated_at = updated_at - interval '1 hour' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
}

// strs reads a JSON array of strings.
func strs(v any) []string {
	out := []string{}
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func wantTypes(t *testing.T, evs []apptest.Event, want ...string) {
	t.Helper()
	if got := apptest.Types(evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// Every create, update and delete of a contact writes one event carrying the contact as its
// GET renders it, with the caller as actor; an update lists the old value of every field it
// changed; a write that changes nothing or fails writes none.
func TestContactWritesRecordTheirEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	feed := e.Follow(e.team.Owner.Token, e.team.OrgID)
	member := e.team.Member

	c := e.contact(member, map[string]any{"name": "Ada", "email": "ada@example.com", "company": "Analytical Engines",
		"notes": "Met at the fair", "tags": []any{"VIP", "lead"}})
	path := contactPath(id(c))
	got := e.as(member, "GET", path, nil).Body
	evs := feed.Next()
	wantTypes(t, evs, "contact.created")
	evs[0].WantObject(t, got)
	evs[0].WantUser(t, member)
	if evs[0].Previous(t) != nil {
		t.Fatal("a create carries previous_attributes")
	}
	if o := evs[0].Object(t); o["company"] != "Analytical Engines" || o["job_title"] != nil || o["notes"] != "Met at the fair" ||
		!slices.Equal(strs(o["tags"]), []string{"vip", "lead"}) {
		t.Fatalf("contact.created object %v", o)
	}

	backdate(t, e.Server, "contacts", id(c))
	before := e.as(member, "GET", path, nil).Body
	e.must(http.StatusOK, member, "PATCH", path, map[string]any{"name": "Ada L.", "phone": "+44 20 7946 0000"})
	after := e.as(member, "GET", path, nil).Body
	evs = feed.Next()
	wantTypes(t, evs, "contact.updated")
	evs[0].WantObject(t, after)
	evs[0].WantUser(t, member)
	evs[0].WantPrevious(t, before, after)
	prev := evs[0].Previous(t)
	if len(prev) != 3 || prev["name"] != "Ada" || prev["phone"] != nil || prev["updated_at"] == nil {
		t.Fatalf("previous_attributes %v, want name, phone and updated_at", prev)
	}

	// The richer fields: the old tags list whole, the old company, job title and notes.
	backdate(t, e.Server, "contacts", id(c))
	before = e.as(member, "GET", path, nil).Body
	e.must(http.StatusOK, member, "PATCH", path, map[string]any{"tags": []any{"lead", "Partner"}, "company": nil,
		"job_title": "CTO", "notes": "Call in March"})
	after = e.as(member, "GET", path, nil).Body
	evs = feed.Next()
	wantTypes(t, evs, "contact.updated")
	evs[0].WantObject(t, after)
	evs[0].WantPrevious(t, before, after)
	prev = evs[0].Previous(t)
	if len(prev) != 5 || !slices.Equal(strs(prev["tags"]), []string{"vip", "lead"}) || prev["company"] != "Analytical Engines" ||
		prev["job_title"] != nil || prev["notes"] != "Met at the fair" || prev["updated_at"] == nil {
		t.Fatalf("previous_attributes %v, want tags, company, job_title, notes and updated_at", prev)
	}
	if o := evs[0].Object(t); !slices.Equal(strs(o["tags"]), []string{"lead", "partner"}) || o["company"] != nil {
		t.Fatalf("contact.updated object %v", o)
	}
	// The same tags spelled otherwise change nothing: no event.
	e.must(http.StatusOK, member, "PATCH", path, map[string]any{"tags": []any{" LEAD", "partner", "lead"}})
	if evs := feed.Next(); len(evs) != 0 {
		t.Fatalf("repeating the tags recorded %v", apptest.Types(evs))
	}

	// Nothing changes, or the write is refused: no event.
	e.must(http.StatusOK, member, "PATCH", path, map[string]any{"name": "Ada L."})
	e.must(http.StatusForbidden, member, "PATCH", path, map[string]any{"owner_id": e.team.Owner.ID})
	e.must(http.StatusBadRequest, member, "POST", "/api/v1/contacts", map[string]any{"name": " "})
	deal := e.must(http.StatusCreated, member, "POST", "/api/v1/deals", map[string]any{"contact_id": id(c), "title": "D", "amount": "1.00"})
	feed.Next()                                              // the deal's own events
	e.must(http.StatusConflict, member, "DELETE", path, nil) // refused inside the transaction: a deal references it
	if evs := feed.Next(); len(evs) != 0 {
		t.Fatalf("writes that changed nothing or failed recorded %v", apptest.Types(evs))
	}

	e.must(http.StatusNoContent, member, "DELETE", fmt.Sprintf("/api/v1/deals/%d", id(deal)), nil)
	feed.Next()
	last := e.as(member, "GET", path, nil).Body
	e.must(http.StatusNoContent, member, "DELETE", path, nil)
	evs = feed.Next()
	wantTypes(t, evs, "contact.deleted")
	evs[0].WantObject(t, last)
	evs[0].WantUser(t, member)
	if evs[0].Previous(t) != nil {
		t.Fatal("a delete carries previous_attributes")
	}
}
