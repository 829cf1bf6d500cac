package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app"
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
	t.Parallel()
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
		w.asOwner(201, "POST", fmt.Sprintf("/api/v1/organizations/%d/api-keys", w.a), map[string]any{"name": fmt.Sprint("Key ", i), "role": "member"})
		w.asOwner(201, "POST", "/api/v1/pipelines", map[string]any{"name": fmt.Sprint("Pipeline ", i), "stages": []any{map[string]any{"key": "a"}}})
	}
	lists := []string{
		"/api/v1/contacts", "/api/v1/tasks", "/api/v1/tasks?only_open=true",
		fmt.Sprintf("/api/v1/deals/%d/activities", w.deal), fmt.Sprintf("/api/v1/organizations/%d/members", w.a),
		fmt.Sprintf("/api/v1/organizations/%d/api-keys", w.a), "/api/v1/pipelines",
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
	t.Parallel()
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

// listRoutes finds every list the service serves in its route table: each GET route under
// /api/v1 whose answer carries next_cursor, its path filled from the cross-tenant fixtures.
// The deals list comes once per order, since each order has cursors of its own. Every list
// is given three more rows than a page of one, so that each has a next_cursor.
func listRoutes(t *testing.T, w *world) []string {
	t.Helper()
	for i := range 3 {
		w.asOwner(201, "POST", "/api/v1/contacts", map[string]any{"name": fmt.Sprint("Contact ", i)})
		w.asOwner(201, "POST", "/api/v1/deals", map[string]any{"contact_id": w.contact, "title": fmt.Sprint("Deal ", i), "amount": 10 * i})
		w.asOwner(201, "POST", "/api/v1/tasks", map[string]any{"deal_id": w.deal, "title": fmt.Sprint("Task ", i)})
		w.asOwner(201, "POST", fmt.Sprintf("/api/v1/deals/%d/activities", w.deal), map[string]any{"type": "comment", "payload": map[string]any{"text": fmt.Sprint(i)}})
		w.asOwner(201, "POST", "/api/v1/webhooks", map[string]any{"url": fmt.Sprintf("https://hooks.example.com/%d", i), "events": []string{"*"}})
		w.asOwner(202, "POST", fmt.Sprintf("/api/v1/webhooks/%d/ping", w.webhook), nil)
		w.asOwner(201, "POST", fmt.Sprintf("/api/v1/organizations/%d/api-keys", w.a), map[string]any{"name": fmt.Sprint("Key ", i), "role": "member"})
		w.asOwner(201, "POST", fmt.Sprintf("/api/v1/organizations/%d/invitations", w.a), map[string]any{"email": fmt.Sprintf("list%d@a.example", i), "role": "member"})
		w.asOwner(201, "POST", "/api/v1/pipelines", map[string]any{"name": fmt.Sprint("Pipeline ", i), "stages": []any{map[string]any{"key": "a"}}})
		for range 2 { // a group of duplicates, and a change in the contact's history
			w.asOwner(201, "POST", "/api/v1/contacts", map[string]any{"name": fmt.Sprint("Twin ", i), "phone": fmt.Sprintf("555-000-%04d", i)})
		}
		w.asOwner(200, "PATCH", fmt.Sprintf("/api/v1/contacts/%d", w.contact), map[string]any{"name": fmt.Sprint("Ann ", i)})
		trashed := w.asOwner(201, "POST", "/api/v1/contacts", map[string]any{"name": fmt.Sprint("Trashed ", i)}).JSON()["id"]
		w.asOwner(204, "DELETE", fmt.Sprintf("/api/v1/contacts/%v", trashed), nil) // an item of the trash
		w.s.Must(202, apptest.Req{Method: "POST", Path: "/api/v1/imports?type=contacts&dry_run=true", Token: w.team.Owner.Token, Org: w.a,
			Body: fmt.Sprintf("name\nImported %d\n", i), Headers: map[string]string{"Content-Type": "text/csv"}}) // an import (queued)
	}
	// Invitations addressed to A's owner from two organizations, for the invitee's own list.
	second := int64(w.s.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/organizations", Token: w.team.Outsider.Token,
		Body: map[string]any{"name": "Inviting"}}).JSON()["id"].(float64))
	for _, org := range []int64{w.b, second} {
		w.s.Must(201, apptest.Req{Method: "POST", Path: fmt.Sprintf("/api/v1/organizations/%d/invitations", org), Token: w.team.Outsider.Token,
			Body: map[string]any{"email": w.team.Owner.Email, "role": "member"}})
	}
	fixtures := w.fixtures()
	seen := map[string]bool{}
	var lists []string
	for _, r := range w.s.App.HTTP.GetRoutes(true) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.Path, "/api/v1/") || seen[r.Path] {
			continue
		}
		seen[r.Path] = true
		path := r.Path
		if strings.Contains(path, ":") {
			fx, ok := fixtures["GET "+path]
			if !ok {
				continue // TestCrossTenantMatrixFromRouteTable requires a fixture for every such route
			}
			path = fill(path, fx.params)
		}
		res := w.s.Do(apptest.Req{Method: "GET", Path: path, Token: w.team.Owner.Token, Org: w.a})
		if _, ok := res.JSON()["next_cursor"]; res.Status != 200 || !ok {
			continue
		}
		if path != "/api/v1/deals" {
			lists = append(lists, path)
			continue
		}
		for _, by := range []string{"created_at", "updated_at", "amount", "title"} {
			for _, dir := range []string{"asc", "desc"} {
				lists = append(lists, fmt.Sprintf("/api/v1/deals?order_by=%s&order=%s", by, dir))
			}
		}
	}
	want := []string{"/api/v1/contacts", "/api/v1/tasks", "/api/v1/deals?order_by=title&order=asc",
		fmt.Sprintf("/api/v1/deals/%d/activities", w.deal), fmt.Sprintf("/api/v1/organizations/%d/members", w.a),
		fmt.Sprintf("/api/v1/organizations/%d/api-keys", w.a), "/api/v1/pipelines"}
	for _, p := range want {
		if !slices.Contains(lists, p) {
			t.Fatalf("list %s not found in the route table; found %v", p, lists)
		}
	}
	return lists
}

// withQuery adds query parameters to a path that may already have some.
func withQuery(path string, q url.Values) string {
	if strings.Contains(path, "?") {
		return path + "&" + q.Encode()
	}
	return path + "?" + q.Encode()
}

// issuedCursor returns the next_cursor of the first page of one row of a list.
func issuedCursor(t *testing.T, w *world, list string) string {
	t.Helper()
	body := w.asOwner(200, "GET", withQuery(list, url.Values{"page_size": {"1"}}), nil).JSON()
	c, ok := body["next_cursor"].(string)
	if !ok {
		t.Fatalf("%s: no next_cursor on a page of one: %v", list, body)
	}
	return c
}

// cursorFields opens a cursor as a client could: base64url of a JSON object.
func cursorFields(t *testing.T, c string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(c)
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		t.Fatalf("cursor %q: %v", c, err)
	}
	return m
}

// craft encodes a JSON value as a cursor.
func craft(v any) string {
	raw, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// forgedCursors are cursors for a list whose issued cursor is fields: built by hand with
// values a list cannot take, or the issued one with its content changed.
func forgedCursors(fields map[string]any) map[string]string {
	k := fields["k"]
	v, _ := fields["v"].([]any)
	last := fmt.Sprint(v[len(v)-1])
	out := map[string]string{
		"not base64":              "not a cursor!",
		"not JSON":                base64.RawURLEncoding.EncodeToString([]byte("zzz")),
		"empty object":            craft(map[string]any{}),
		"non-date value":          craft(map[string]any{"k": k, "v": []any{"zzz", "1"}}),
		"bad date":                craft(map[string]any{"k": k, "v": []any{"2024-02-30T25:61:00Z", "1"}}),
		"year 0000":               craft(map[string]any{"k": k, "v": []any{"0000-01-01T00:00:00Z", "1"}}),
		"date of year 0000":       craft(map[string]any{"k": k, "v": []any{"0000-01-01", "1"}}),
		"id beyond int64":         craft(map[string]any{"k": k, "v": []any{v[0], "99999999999999999999"}}),
		"id not a number":         craft(map[string]any{"k": k, "v": []any{v[0], "1.5"}}),
		"null value":              craft(map[string]any{"k": k, "v": []any{nil, "1"}}),
		"null id":                 craft(map[string]any{"k": k, "v": []any{v[0], nil}}),
		"NUL in text":             craft(map[string]any{"k": k, "v": []any{"a\x00b", "1"}}),
		"numbers, not strings":    craft(map[string]any{"k": k, "v": []any{1, 2}}),
		"objects, not strings":    craft(map[string]any{"k": k, "v": []any{map[string]any{}, []any{}}}),
		"values null":             craft(map[string]any{"k": k, "v": nil}),
		"values not a list":       craft(map[string]any{"k": k, "v": "x"}),
		"one value too few":       craft(map[string]any{"k": k, "v": v[:len(v)-1]}),
		"one value too many":      craft(map[string]any{"k": k, "v": append(slices.Clone(v), "1")}),
		"issued values, unsigned": craft(map[string]any{"k": k, "v": v}),
		"truncated":               craft(fields)[:len(craft(fields))-2],
	}
	tampered := maps.Clone(fields)
	tampered["v"] = append(slices.Clone(v[:len(v)-1]), last+"0")
	out["issued, another id"] = craft(tampered)
	tampered = maps.Clone(fields)
	tampered["v"] = append([]any{"2000-01-01T00:00:00Z"}, v[1:]...)
	out["issued, another first value"] = craft(tampered)
	return out
}

// Every list of the service takes back the cursors it issued and refuses, with 400
// invalid_cursor, any cursor it did not issue for that list: values forged by hand (a
// non-date, a bad date, year 0, an id beyond int64, null, wrong types, a wrong count), an
// issued cursor with its content changed, and another list's cursor. None reaches SQL as a
// 500.
func TestForgedCursorsAreRejectedOnEveryList(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	lists := listRoutes(t, w)
	issued := map[string]string{}
	for _, list := range lists {
		issued[list] = issuedCursor(t, w, list)
	}
	get := func(list, cursor string) apptest.Response {
		return w.s.Do(apptest.Req{Method: "GET", Path: withQuery(list, url.Values{"page_size": {"1"}, "cursor": {cursor}}),
			Token: w.team.Owner.Token, Org: w.a})
	}
	for _, list := range lists {
		t.Run(list, func(t *testing.T) {
			if res := get(list, issued[list]); res.Status != 200 {
				t.Fatalf("issued cursor: %d %s", res.Status, res.Body)
			}
			fields := cursorFields(t, issued[list])
			for name, c := range forgedCursors(fields) {
				if res := get(list, c); res.Status != 400 || res.Code() != "invalid_cursor" {
					t.Errorf("%s (%s): %d %s, want 400 invalid_cursor", name, c, res.Status, res.Body)
				}
			}
			for other, c := range issued {
				if cursorFields(t, c)["k"] == fields["k"] {
					continue
				}
				if res := get(list, c); res.Status != 400 || res.Code() != "invalid_cursor" {
					t.Errorf("cursor of %s: %d %s, want 400 invalid_cursor", other, res.Status, res.Body)
				}
				// Another list's key on this list's own cursor is a tampered cursor too.
				relabelled := maps.Clone(fields)
				relabelled["k"] = cursorFields(t, c)["k"]
				if res := get(other, craft(relabelled)); res.Status != 400 || res.Code() != "invalid_cursor" {
					t.Errorf("cursor of %s relabelled for %s: %d %s, want 400 invalid_cursor", list, other, res.Status, res.Body)
				}
			}
		})
	}
}

// Replicas sharing JWT_SECRET take each other's cursors; a service with another secret
// refuses them, although its database holds the same rows.
func TestCursorsAreAcceptedByReplicasSharingTheSecret(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i := range 2 {
		w.asOwner(201, "POST", "/api/v1/contacts", map[string]any{"name": fmt.Sprint("C", i)})
	}
	c := issuedCursor(t, w, "/api/v1/contacts")
	path := "/api/v1/contacts?page_size=1&cursor=" + url.QueryEscape(c)
	replica := func(secret string) (*apptest.Server, string) {
		cfg := apptest.Config()
		cfg.JWTSecret = secret
		a, err := app.New(cfg, slog.New(slog.DiscardHandler), w.s.App.DB, app.Options{HashParams: apptest.FastHash})
		if err != nil {
			t.Fatal(err)
		}
		token, err := a.Tokens.Access(w.team.Owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		return &apptest.Server{T: t, App: a}, token
	}
	same, token := replica(apptest.Secret)
	if res := same.Do(apptest.Req{Method: "GET", Path: path, Token: token, Org: w.a}); res.Status != 200 {
		t.Errorf("replica with the same secret: %d %s", res.Status, res.Body)
	}
	other, token := replica("another-secret-that-is-at-least-32-bytes")
	if res := other.Do(apptest.Req{Method: "GET", Path: path, Token: token, Org: w.a}); res.Status != 400 || res.Code() != "invalid_cursor" {
		t.Errorf("service with another secret: %d %s, want 400 invalid_cursor", res.Status, res.Body)
	}
}
