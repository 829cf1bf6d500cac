package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/web"
)

var thingOrder = database.Order{Key: "things:name:asc",
	Cols: []database.KeyCol{{Expr: "name", Type: "text"}, {Expr: "id", Type: "bigint"}}}

// cursorApp serves /things like a list: with no cursor it issues one for the row ("b", 7),
// with a cursor it answers the key values it holds.
func cursorApp(secret string) *fiber.App {
	app := web.NewApp(web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	app.Use(web.SignCursors(database.NewCursors([]byte(secret))))
	app.Get("/things", func(c *fiber.Ctx) error {
		p, err := web.PageFrom(c)
		if err != nil {
			return err
		}
		cursors := database.CursorsFrom(c.UserContext())
		if p.Cursor == "" {
			return c.JSON(fiber.Map{"next_cursor": cursors.Encode(thingOrder, []string{"b", "7"})})
		}
		after, err := cursors.Decode(p.Cursor, thingOrder)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"after": after})
	})
	return app
}

func getThings(t *testing.T, app *fiber.App, query string) (int, map[string]any) {
	t.Helper()
	res, err := app.Test(httptest.NewRequestWithContext(context.Background(), "GET", "/things?"+query, nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// Under SignCursors, the lists of a request sign cursors with the service's key: a cursor
// comes back to a service with the same secret and is refused, as 400 invalid_cursor, by one
// with another secret; page and cursor together are an invalid query, and a cursor longer
// than any a list issues is refused before it is read.
func TestSignCursorsGivesListsTheServiceKey(t *testing.T) {
	t.Parallel()
	app, replica, other := cursorApp("secret one"), cursorApp("secret one"), cursorApp("secret two")
	_, body := getThings(t, app, "")
	cursor, _ := body["next_cursor"].(string)
	if cursor == "" {
		t.Fatalf("no cursor issued: %v", body)
	}
	for name, a := range map[string]*fiber.App{"same service": app, "replica": replica} {
		status, body := getThings(t, a, url.Values{"cursor": {cursor}}.Encode())
		if after, _ := json.Marshal(body["after"]); status != 200 || string(after) != `["b","7"]` {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
	for name, tc := range map[string]struct {
		app   *fiber.App
		query url.Values
		code  string
	}{
		"another secret":    {other, url.Values{"cursor": {cursor}}, "invalid_cursor"},
		"not a cursor":      {app, url.Values{"cursor": {"not-a-cursor"}}, "invalid_cursor"},
		"longer than 2048":  {app, url.Values{"cursor": {strings.Repeat("A", web.MaxCursorLength+1)}}, "invalid_cursor"},
		"page and cursor":   {app, url.Values{"cursor": {cursor}, "page": {"2"}}, "invalid_query"},
		"cursor, bad total": {app, url.Values{"cursor": {cursor}, "include_total": {"maybe"}}, "invalid_query"},
	} {
		status, body := getThings(t, tc.app, tc.query.Encode())
		if status != 400 || body["code"] != tc.code {
			t.Errorf("%s: %d %v, want 400 %s", name, status, body, tc.code)
		}
	}
}
