package app_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// walk reads a whole list page by page, by cursor or by page number, and returns the ids (or
// user ids) in order.
func walk(t *testing.T, w *world, path string, byCursor bool) []float64 {
	t.Helper()
	var ids []float64
	next := ""
	for page := 1; page < 100; page++ {
		q := url.Values{"page_size": {"3"}}
		if byCursor && next != "" {
			q.Set("cursor", next)
		} else if !byCursor {
			q.Set("page", fmt.Sprint(page))
		}
		sep := "?"
		if u, _ := url.Parse(path); u.RawQuery != "" {
			sep = "&"
		}
		body := w.asOwner(200, "GET", path+sep+q.Encode(), nil).JSON()
		items := body["items"].([]any)
		for _, it := range items {
			m := it.(map[string]any)
			id, ok := m["id"].(float64)
			if !ok {
				id = m["user_id"].(float64)
			}
			ids = append(ids, id)
		}
		if byCursor && next != "" && body["page"] != nil {
			t.Fatalf("%s: page read by cursor reports page %v", path, body["page"])
		}
		nc, _ := body["next_cursor"].(string)
		if nc == "" {
			if len(items) == 3 && body["total"].(float64) > float64(len(ids)) {
				t.Fatalf("%s: no next_cursor although more rows follow", path)
			}
			return ids
		}
		next = nc
		if !byCursor && len(items) == 0 {
			return ids
		}
	}
	t.Fatalf("%s: did not end", path)
	return nil
}

// Every list can be walked by cursor, giving exactly the rows and order of the page walk,
// with ties in the sort column broken by id.
func TestCursorPaginationMatchesPages(t *testing.T) {
	w := newWorld(t)
	for i := range 7 {
		w.asOwner(201, "POST", "/api/v1/contacts", map[string]any{"name": fmt.Sprint("Contact ", i)})
		// Equal amounts and titles make ties that only the id can break.
		w.asOwner(201, "POST", "/api/v1/deals", map[string]any{"contact_id": w.contact, "title": fmt.Sprint("T", i%2), "amount": 10 * (i % 3)})
		due := any(nil)
		if i%3 != 0 {
			due = time.Now().UTC().AddDate(0, 0, i%4).Format(time.DateOnly)
		}
		w.asOwner(201, "POST", "/api/v1/tasks", map[string]any{"deal_id": w.deal, "title": fmt.Sprint("task ", i), "due_date": due})
		w.asOwner(201, "POST", fmt.Sprintf("/api/v1/deals/%d/activities", w.deal), map[string]any{"type": "comment", "payload": map[string]any{"text": fmt.Sprint(i)}})
	}
	lists := []string{
		"/api/v1/contacts", "/api/v1/tasks", "/api/v1/tasks?only_open=true",
		fmt.Sprintf("/api/v1/deals/%d/activities", w.deal), fmt.Sprintf("/api/v1/organizations/%d/members", w.a),
	}
	for _, by := range []string{"created_at", "updated_at", "amount", "title"} {
		for _, dir := range []string{"asc", "desc"} {
			lists = append(lists, fmt.Sprintf("/api/v1/deals?order_by=%s&order=%s", by, dir))
		}
	}
	lists = append(lists, "/api/v1/deals?status=new&min_amount=5")
	for _, path := range lists {
		pages, cursors := walk(t, w, path, false), walk(t, w, path, true)
		if fmt.Sprint(pages) != fmt.Sprint(cursors) || len(pages) < 4 {
			t.Errorf("%s:\n by page   %v\n by cursor %v", path, pages, cursors)
		}
		seen := map[float64]bool{}
		for _, id := range cursors {
			if seen[id] {
				t.Errorf("%s: id %v twice", path, id)
			}
			seen[id] = true
		}
	}
}

func TestCursorErrorsAndSkippingTheTotal(t *testing.T) {
	w := newWorld(t)
	for i := range 4 {
		w.asOwner(201, "POST", "/api/v1/contacts", map[string]any{"name": fmt.Sprint("C", i)})
	}
	first := w.asOwner(200, "GET", "/api/v1/deals?page_size=1&order_by=amount", nil).JSON()
	if first["next_cursor"] != nil {
		t.Fatalf("one deal, yet a next cursor: %v", first)
	}
	contacts := w.asOwner(200, "GET", "/api/v1/contacts?page_size=2&include_total=false", nil).JSON()
	if contacts["total"] != nil || contacts["next_cursor"] == nil || contacts["page"].(float64) != 1 {
		t.Fatalf("include_total=false: %v", contacts)
	}
	cur := url.QueryEscape(contacts["next_cursor"].(string))
	for path, code := range map[string]string{
		"/api/v1/contacts?page=2&cursor=" + cur:      "invalid_query",
		"/api/v1/deals?cursor=" + cur:                "invalid_cursor", // another list's cursor
		"/api/v1/contacts?cursor=not-a-cursor":       "invalid_cursor",
		"/api/v1/contacts?include_total=maybe":       "invalid_query",
		"/api/v1/deals?order_by=title&cursor=" + cur: "invalid_cursor",
	} {
		res := w.s.Do(apptest.Req{Method: "GET", Path: path, Token: w.team.Owner.Token, Org: w.a})
		if res.Status != 400 || res.Code() != code {
			t.Errorf("%s: %d %s, want 400 %s", path, res.Status, res.Body, code)
		}
	}
}
