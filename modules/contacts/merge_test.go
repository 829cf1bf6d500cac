package contacts_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func mergePath(id int64) string { return fmt.Sprintf("/api/v1/contacts/%d/merge", id) }

func historyPath(id int64) string { return fmt.Sprintf("/api/v1/contacts/%d/history", id) }

// deal creates a deal of u on the contact.
func (e env) deal(u apptest.User, contactID int64, title string) int64 {
	e.T.Helper()
	return id(e.must(http.StatusCreated, u, "POST", "/api/v1/deals", map[string]any{"contact_id": contactID, "title": title, "amount": "10.00"}))
}

func (e env) dealOf(dealID int64) map[string]any {
	e.T.Helper()
	return e.must(http.StatusOK, e.team.Owner, "GET", fmt.Sprintf("/api/v1/deals/%d", dealID), nil)
}

// timeline returns the activities of a deal, newest first.
func (e env) timeline(dealID int64) []map[string]any {
	e.T.Helper()
	var page struct{ Items []map[string]any }
	e.Must(http.StatusOK, apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/deals/%d/activities?page_size=100", dealID),
		Token: e.team.Owner.Token, Org: e.team.OrgID}).Decode(e.T, &page)
	return page.Items
}

// history returns the contact's history page as the owner reads it.
func (e env) history(contactID int64, query string) (items []map[string]any, next *string) {
	e.T.Helper()
	var page struct {
		Items      []map[string]any
		NextCursor *string `json:"next_cursor"`
	}
	e.Must(http.StatusOK, apptest.Req{Method: "GET", Path: historyPath(contactID) + query, Token: e.team.Owner.Token, Org: e.team.OrgID}).Decode(e.T, &page)
	return page.Items, page.NextCursor
}

// sqlConn is a connection as the database owner, below row-level security.
func (e env) sqlConn() *pgx.Conn {
	e.T.Helper()
	conn, err := pgx.Connect(context.Background(), e.App.DB.Pool.Config().ConnString())
	if err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The merge of the contract: the deals of the absorbed contacts point at the survivor, each
// with a contact_merged activity and its deal.updated event; the survivor's empty fields are
// filled in the order of from, its tags are the union; the others are gone for good, each
// with contact.deleted (reason merged), and contact.merged names them; the survivor's history
// shows what the merge filled.
func TestMergeMovesDealsFillsFieldsAndDeletesTheOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	survivor := e.contact(owner, map[string]any{"name": "Ann Smith", "phone": "+1 555 0100", "tags": []string{"vip"}})
	first := e.contact(owner, map[string]any{"name": "Ann", "email": "ann@example.com", "company": "Acme", "tags": []string{"Lead", "VIP"}})
	second := e.contact(owner, map[string]any{"name": "A. Smith", "email": "ann.smith@example.com", "job_title": "CTO",
		"notes": "Met at the fair", "phone": "+44 20 7946 0958", "tags": []string{"new"}})
	kept := e.deal(owner, id(survivor), "Kept")
	d1, d2, d3 := e.deal(owner, id(first), "One"), e.deal(owner, id(second), "Two"), e.deal(owner, id(first), "Three")
	before := map[int64]map[string]any{d1: e.dealOf(d1), d2: e.dealOf(d2), d3: e.dealOf(d3)}
	feed := e.Follow(owner.Token, e.team.OrgID)

	res := e.must(http.StatusOK, owner, "POST", mergePath(id(survivor)), map[string]any{"from": []int64{id(second), id(first)}})
	// second comes first in from: its email and phone would win, but the survivor has a phone.
	want := map[string]any{"id": survivor["id"], "owner_id": survivor["owner_id"], "name": "Ann Smith",
		"email": "ann.smith@example.com", "phone": "+1 555 0100", "company": "Acme", "job_title": "CTO",
		"notes": "Met at the fair", "tags": []any{"vip", "new", "lead"}, "created_at": survivor["created_at"]}
	for k, v := range want {
		if asJSON(t, res[k]) != asJSON(t, v) {
			t.Errorf("merged %s = %v, want %v", k, res[k], v)
		}
	}
	if got := e.must(http.StatusOK, owner, "GET", contactPath(id(survivor)), nil); asJSON(t, got) != asJSON(t, res) {
		t.Fatalf("the answer %v is not the contact as GET renders it: %v", res, got)
	}
	for _, gone := range []int64{id(first), id(second)} {
		apptest.WantProblem(t, e.as(owner, "GET", contactPath(gone), nil), http.StatusNotFound, "contact_not_found")
	}
	for dealID, from := range map[int64]int64{d1: id(first), d2: id(second), d3: id(first)} {
		d := e.dealOf(dealID)
		if int64(d["contact_id"].(float64)) != id(survivor) || d["updated_at"] == nil {
			t.Errorf("deal %d: %v", dealID, d)
		}
		acts := e.timeline(dealID)
		a := acts[0]
		if a["type"] != "contact_merged" || asJSON(t, a["payload"]) != fmt.Sprintf(`{"from":%d,"to":%d}`, from, id(survivor)) ||
			int64(a["author_id"].(float64)) != owner.ID {
			t.Errorf("deal %d: newest activity %v", dealID, a)
		}
		for _, a := range acts {
			if a["type"] == "deal_updated" {
				t.Errorf("deal %d: a merge records contact_merged only, got %v", dealID, a)
			}
		}
	}
	if d := e.dealOf(kept); len(e.timeline(kept)) != 1 || d["contact_id"] != survivor["id"] {
		t.Errorf("the survivor's own deal changed: %v", d)
	}

	evs := feed.Next()
	wantTypes := []string{"deal.updated", "activity.created", "deal.updated", "activity.created", "deal.updated", "activity.created",
		"contact.deleted", "contact.deleted", "contact.merged"}
	if !slices.Equal(apptest.Types(evs), wantTypes) {
		t.Fatalf("events %v, want %v", apptest.Types(evs), wantTypes)
	}
	for i, dealID := range []int64{d1, d2, d3} { // locked and moved in id order
		ev := evs[2*i]
		obj := ev.Object(t)
		if int64(obj["id"].(float64)) != dealID || int64(obj["contact_id"].(float64)) != id(survivor) {
			t.Errorf("deal.updated %d: %v", i, obj)
		}
		if prev := ev.Previous(t); asJSON(t, prev["contact_id"]) != asJSON(t, before[dealID]["contact_id"]) {
			t.Errorf("deal.updated %d: previous %v", i, prev)
		}
		ev.WantUser(t, owner)
	}
	for i, gone := range []map[string]any{second, first} { // in the order of from
		ev := evs[6+i]
		var reason string
		_ = json.Unmarshal(ev.Data["reason"], &reason)
		if obj := ev.Object(t); obj["id"] != gone["id"] || reason != "merged" {
			t.Errorf("contact.deleted %d: %v reason %q", i, obj, reason)
		}
	}
	merged := evs[8]
	merged.WantObject(t, e.as(owner, "GET", contactPath(id(survivor)), nil).Body)
	if string(merged.Data["merged_ids"]) != fmt.Sprintf("[%d,%d]", id(second), id(first)) {
		t.Errorf("merged_ids %s", merged.Data["merged_ids"])
	}
	if prev := merged.Previous(t); prev["email"] != nil || asJSON(t, prev["tags"]) != `["vip"]` {
		t.Errorf("contact.merged previous_attributes %v", prev)
	}

	items, _ := e.history(id(survivor), "")
	if len(items) != 1 {
		t.Fatalf("history %v", items)
	}
	h := items[0]
	if asJSON(t, h["actor"]) != fmt.Sprintf(`{"id":%d,"type":"user"}`, owner.ID) {
		t.Errorf("actor %v", h["actor"])
	}
	wantChanges := `{"company":{"from":null,"to":"Acme"},"email":{"from":null,"to":"ann.smith@example.com"},` +
		`"job_title":{"from":null,"to":"CTO"},"notes":{"from":null,"to":"Met at the fair"},"tags":{"from":["vip"],"to":["vip","new","lead"]}}`
	if asJSON(t, h["changes"]) != wantChanges {
		t.Errorf("changes %s, want %s", asJSON(t, h["changes"]), wantChanges)
	}
}

// A merge that fills nothing keeps the survivor's updated_at and writes no history, and its
// contact.merged has no previous_attributes.
func TestMergeThatFillsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	survivor := e.contact(owner, map[string]any{"name": "Full", "email": "full@example.com", "tags": []string{"a"}})
	other := e.contact(owner, map[string]any{"name": "Empty", "tags": []string{"A"}})
	feed := e.Follow(owner.Token, e.team.OrgID)
	res := e.must(http.StatusOK, owner, "POST", mergePath(id(survivor)), map[string]any{"from": []int64{id(other)}})
	if res["updated_at"] != survivor["updated_at"] || asJSON(t, res["tags"]) != `["a"]` {
		t.Fatalf("merged %v", res)
	}
	if items, _ := e.history(id(survivor), ""); len(items) != 0 {
		t.Fatalf("history %v", items)
	}
	evs := feed.Next()
	if !slices.Equal(apptest.Types(evs), []string{"contact.deleted", "contact.merged"}) {
		t.Fatalf("events %v", apptest.Types(evs))
	}
	if _, ok := evs[1].Data["previous_attributes"]; ok {
		t.Errorf("contact.merged without changes has previous_attributes: %s", evs[1].Data["previous_attributes"])
	}
}

// Bad input is refused before anything is read or written; an id that is not a contact of
// the organization (another organization's, or none) is a 404 like any foreign id.
func TestMergeValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	survivor, other := id(e.contact(owner, map[string]any{"name": "S"})), id(e.contact(owner, map[string]any{"name": "O"}))
	foreign := id(e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: e.team.Outsider.Token,
		Org: e.team.Outsider.OrgID, Body: map[string]any{"name": "Theirs"}}).JSON())
	many := make([]int64, 51)
	for i := range many {
		many[i] = int64(1000 + i)
	}
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{}, "from"},
		{map[string]any{"from": nil}, "from"},
		{map[string]any{"from": []int64{}}, "from"},
		{map[string]any{"from": []int64{other, other}}, "from[1]"},
		{map[string]any{"from": []int64{survivor}}, "from[0]"},
		{map[string]any{"from": []int64{other, 0}}, "from[1]"},
		{map[string]any{"from": many}, "from"},
		{map[string]any{"from": []any{"x"}}, "from"},
	} {
		res := e.as(owner, "POST", mergePath(survivor), c.body)
		if res.Status != http.StatusBadRequest || fieldOf(res.JSON()) != c.field {
			t.Errorf("%v: %d %s, want 400 naming %s", c.body, res.Status, res.Body, c.field)
		}
	}
	apptest.WantProblem(t, e.as(owner, "POST", mergePath(survivor), map[string]any{"from": []int64{other}, "into": 1}), http.StatusBadRequest, "unknown_field")
	for _, body := range []map[string]any{{"from": []int64{foreign}}, {"from": []int64{other, 987654}}} {
		apptest.WantProblem(t, e.as(owner, "POST", mergePath(survivor), body), http.StatusNotFound, "contact_not_found")
	}
	apptest.WantProblem(t, e.as(owner, "POST", mergePath(foreign), map[string]any{"from": []int64{other}}), http.StatusNotFound, "contact_not_found")
	apptest.WantProblem(t, e.as(owner, "POST", mergePath(987654), map[string]any{"from": []int64{other}}), http.StatusNotFound, "contact_not_found")
	// The outsider cannot absorb A's contact into theirs either.
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "POST", Path: mergePath(foreign), Token: e.team.Outsider.Token, Org: e.team.Outsider.OrgID,
		Body: map[string]any{"from": []int64{other}}}), http.StatusNotFound, "contact_not_found")
	for _, c := range []int64{survivor, other} {
		e.must(http.StatusOK, owner, "GET", contactPath(c), nil)
	}
	e.Must(http.StatusOK, apptest.Req{Method: "GET", Path: contactPath(foreign), Token: e.team.Outsider.Token, Org: e.team.Outsider.OrgID})
}

// Owners, admins and managers merge anyone's contacts; a member only when they own every
// contact and every deal involved, else 403 not_owner and nothing changes.
func TestMergeRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	member := e.team.Member
	for _, role := range []string{"owner", "admin", "manager"} {
		u := e.team.As(role)
		s := e.contact(e.team.Owner, map[string]any{"name": "S " + role})
		o := e.contact(member, map[string]any{"name": "O " + role})
		e.deal(member, id(o), "member's")
		e.must(http.StatusOK, u, "POST", mergePath(id(s)), map[string]any{"from": []int64{id(o)}})
	}
	mine, alsoMine := e.contact(member, map[string]any{"name": "Mine"}), e.contact(member, map[string]any{"name": "Also mine", "email": "m@example.com"})
	theirs := e.contact(e.team.Owner, map[string]any{"name": "Theirs"})
	apptest.WantProblem(t, e.as(member, "POST", mergePath(id(mine)), map[string]any{"from": []int64{id(theirs)}}), http.StatusForbidden, "not_owner")
	apptest.WantProblem(t, e.as(member, "POST", mergePath(id(theirs)), map[string]any{"from": []int64{id(mine)}}), http.StatusForbidden, "not_owner")
	// Every contact the member's, but a deal on the absorbed one is someone else's.
	own := e.deal(member, id(alsoMine), "mine")
	other := e.deal(e.team.Owner, id(alsoMine), "owner's")
	apptest.WantProblem(t, e.as(member, "POST", mergePath(id(mine)), map[string]any{"from": []int64{id(alsoMine)}}), http.StatusForbidden, "not_owner")
	for _, d := range []int64{own, other} {
		if got := e.dealOf(d); got["contact_id"] != alsoMine["id"] || len(e.timeline(d)) != 1 {
			t.Fatalf("a refused merge moved deal %d: %v", d, got)
		}
	}
	e.must(http.StatusOK, member, "GET", contactPath(id(alsoMine)), nil)
	if got := e.must(http.StatusOK, member, "GET", contactPath(id(mine)), nil); got["email"] != nil {
		t.Fatalf("a refused merge filled the survivor: %v", got)
	}
	// Once the other deal is the member's too, the member may merge.
	e.must(http.StatusOK, e.team.Owner, "PATCH", fmt.Sprintf("/api/v1/deals/%d", other), map[string]any{"owner_id": member.ID})
	res := e.must(http.StatusOK, member, "POST", mergePath(id(mine)), map[string]any{"from": []int64{id(alsoMine)}})
	if res["email"] != "m@example.com" {
		t.Fatalf("merged %v", res)
	}
}

// A merge honours Idempotency-Key like every POST: the replay answers the first response and
// merges nothing more; the same key with another body is a 422.
func TestMergeIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	s, o := e.contact(owner, map[string]any{"name": "S"}), e.contact(owner, map[string]any{"name": "O", "email": "o@example.com"})
	send := func(body any) apptest.Response {
		return e.Do(apptest.Req{Method: "POST", Path: mergePath(id(s)), Token: owner.Token, Org: e.team.OrgID, Body: body,
			Headers: map[string]string{"Idempotency-Key": "merge-1"}})
	}
	feed := e.Follow(owner.Token, e.team.OrgID)
	first, again := send(map[string]any{"from": []int64{id(o)}}), send(map[string]any{"from": []int64{id(o)}})
	if first.Status != http.StatusOK || again.Status != http.StatusOK || string(first.Body) != string(again.Body) ||
		again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d %s, again %d %s %v", first.Status, first.Body, again.Status, again.Body, again.Header)
	}
	apptest.WantProblem(t, send(map[string]any{"from": []int64{id(o), 12345}}), http.StatusUnprocessableEntity, "idempotency_key_reused")
	if got := apptest.Types(feed.Next()); !slices.Equal(got, []string{"contact.deleted", "contact.merged"}) {
		t.Fatalf("events %v: the replay merged again", got)
	}
	// Without the key, the same merge again finds the absorbed contact gone.
	apptest.WantProblem(t, e.as(owner, "POST", mergePath(id(s)), map[string]any{"from": []int64{id(o)}}), http.StatusNotFound, "contact_not_found")
}

// A union of more than 20 tags is a conflict: nothing is merged.
func TestMergeRefusesTooManyTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tags := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return out
	}
	s := e.contact(e.team.Owner, map[string]any{"name": "S", "tags": tags("a", 15)})
	o := e.contact(e.team.Owner, map[string]any{"name": "O", "tags": append(tags("a", 10), tags("b", 6)...)})
	apptest.WantProblem(t, e.as(e.team.Owner, "POST", mergePath(id(s)), map[string]any{"from": []int64{id(o)}}), http.StatusConflict, "merge_too_many_tags")
	e.must(http.StatusOK, e.team.Owner, "GET", contactPath(id(o)), nil)
	// 15 + 5 new ones is exactly 20: fine.
	o2 := e.contact(e.team.Owner, map[string]any{"name": "O2", "tags": append(tags("a", 3), tags("c", 5)...)})
	if res := e.must(http.StatusOK, e.team.Owner, "POST", mergePath(id(s)), map[string]any{"from": []int64{id(o2)}}); len(res["tags"].([]any)) != 20 {
		t.Fatalf("tags %v", res["tags"])
	}
}

// The merge is one transaction: when its last statement fails (here a trigger refusing to
// delete one absorbed contact, after the deals moved and the survivor was filled), nothing of
// it stays: deals, timelines, the survivor, its history, the others and the feed are as before.
func TestMergeFailingMidwayChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	sql := e.sqlConn()
	if _, err := sql.Exec(context.Background(), `
		CREATE FUNCTION test_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
		CREATE TRIGGER test_refuse_delete BEFORE DELETE ON contacts FOR EACH ROW
			WHEN (OLD.name = 'Undeletable') EXECUTE FUNCTION test_refuse_delete()`); err != nil {
		t.Fatal(err)
	}
	s := e.contact(owner, map[string]any{"name": "S"})
	a := e.contact(owner, map[string]any{"name": "A", "email": "a@example.com", "tags": []string{"x"}})
	b := e.contact(owner, map[string]any{"name": "Undeletable", "company": "B Corp"})
	da, db := e.deal(owner, id(a), "on a"), e.deal(owner, id(b), "on b")
	before := map[string]string{}
	paths := []string{contactPath(id(s)), contactPath(id(a)), contactPath(id(b)), fmt.Sprintf("/api/v1/deals/%d", da),
		fmt.Sprintf("/api/v1/deals/%d", db), fmt.Sprintf("/api/v1/deals/%d/activities", da), fmt.Sprintf("/api/v1/deals/%d/activities", db),
		historyPath(id(s))}
	for _, p := range paths {
		before[p] = string(e.as(owner, "GET", p, nil).Body)
	}
	feed := e.Follow(owner.Token, e.team.OrgID)
	if res := e.as(owner, "POST", mergePath(id(s)), map[string]any{"from": []int64{id(a), id(b)}}); res.Status != http.StatusInternalServerError {
		t.Fatalf("merge: %d %s", res.Status, res.Body)
	}
	for _, p := range paths {
		if got := string(e.as(owner, "GET", p, nil).Body); got != before[p] {
			t.Errorf("%s changed:\nbefore %s\nafter  %s", p, before[p], got)
		}
	}
	if evs := feed.Next(); len(evs) != 0 {
		t.Errorf("a rolled back merge left events %v", apptest.Types(evs))
	}
}

// Deals in the trash that reference an absorbed contact are moved too, or the contact could
// not be deleted for good.
func TestMergeMovesDealsInTheTrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	s, o := e.contact(owner, map[string]any{"name": "S"}), e.contact(owner, map[string]any{"name": "O"})
	trashed := e.deal(owner, id(o), "trashed")
	e.must(http.StatusNoContent, owner, "DELETE", fmt.Sprintf("/api/v1/deals/%d", trashed), nil)
	e.must(http.StatusOK, owner, "POST", mergePath(id(s)), map[string]any{"from": []int64{id(o)}})
	var contactID int64
	err := e.sqlConn().QueryRow(context.Background(), `SELECT contact_id FROM deals WHERE id = $1`, trashed).Scan(&contactID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		t.Skip("DELETE of a deal removes it for good here: there is no trash to move deals out of")
	case err != nil:
		t.Fatal(err)
	case contactID != id(s):
		t.Fatalf("the trashed deal references contact %d, want %d", contactID, id(s))
	}
}

// Merges of overlapping contacts run one after the other (contacts are locked in id order,
// then their deals): exactly one of two opposite merges wins, the other finds its contact
// gone, and no deadlock ends either.
func TestConcurrentOverlappingMerges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	for round := range 5 {
		a, b := e.contact(owner, map[string]any{"name": fmt.Sprint("A", round)}), e.contact(owner, map[string]any{"name": fmt.Sprint("B", round)})
		da, db := e.deal(owner, id(a), "on a"), e.deal(owner, id(b), "on b")
		results := make([]apptest.Response, 2)
		var wg sync.WaitGroup
		for i, pair := range [][2]int64{{id(a), id(b)}, {id(b), id(a)}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = e.Do(apptest.Req{Method: "POST", Path: mergePath(pair[0]), Token: owner.Token, Org: e.team.OrgID,
					Body: map[string]any{"from": []int64{pair[1]}}})
			}()
		}
		wg.Wait()
		var winner int64
		for i, r := range results {
			switch {
			case r.Status == http.StatusOK:
				if winner != 0 {
					t.Fatalf("round %d: both merges won", round)
				}
				winner = id(r.JSON())
			case r.Status == http.StatusNotFound && r.Code() == "contact_not_found":
			default:
				t.Fatalf("round %d, merge %d: %d %s", round, i, r.Status, r.Body)
			}
		}
		if winner == 0 {
			t.Fatalf("round %d: no merge won", round)
		}
		for _, d := range []int64{da, db} {
			if got := int64(e.dealOf(d)["contact_id"].(float64)); got != winner {
				t.Fatalf("round %d: deal %d on contact %d, want %d", round, d, got, winner)
			}
		}
	}
}
