package database_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

var itemSources = []migrate.Source{{Module: "items", FS: fstest.MapFS{
	"migrations/20200101000000_items.sql": {Data: []byte(`-- migrate:up
CREATE TABLE items (id bigint PRIMARY KEY, at timestamptz NOT NULL, day date NOT NULL,
    amount numeric(14, 2) NOT NULL, title text NOT NULL);
-- migrate:down
DROP TABLE items;
`)},
}}}

type item struct {
	ID     int64     `db:"id"`
	At     time.Time `db:"at"`
	Day    time.Time `db:"day"`
	Amount string    `db:"amount"`
	Title  string    `db:"title"`
}

// itemOrders is one list order per type a cursor value can have, with the key function
// that renders a row's values as the stores do.
var itemOrders = map[string]struct {
	order database.Order
	key   func(item) []string
}{
	"timestamptz": {database.Order{Key: "items:at:desc", Desc: true, Cols: []database.KeyCol{{Expr: "at", Type: "timestamptz"}, {Expr: "id", Type: "bigint"}}},
		func(i item) []string { return []string{database.TimeKey(i.At), database.IDKey(i.ID)} }},
	"date": {database.Order{Key: "items:day:asc", Cols: []database.KeyCol{{Expr: "day", Type: "date"}, {Expr: "id", Type: "bigint"}}},
		func(i item) []string { return []string{i.Day.Format(time.DateOnly), database.IDKey(i.ID)} }},
	"numeric": {database.Order{Key: "items:amount:asc", Cols: []database.KeyCol{{Expr: "amount", Type: "numeric"}, {Expr: "id", Type: "bigint"}}},
		func(i item) []string { return []string{i.Amount, database.IDKey(i.ID)} }},
	"text": {database.Order{Key: "items:title:asc", Cols: []database.KeyCol{{Expr: "title", Type: "text"}, {Expr: "id", Type: "bigint"}}},
		func(i item) []string { return []string{i.Title, database.IDKey(i.ID)} }},
}

func itemsDB(t *testing.T) *database.DB {
	t.Helper()
	db := testdb.New(t, itemSources)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	for i := range int64(5) {
		if _, err := database.Exec(ctx, db.Q(ctx), database.SQL.Insert("items").Columns("id", "at", "day", "amount", "title").
			Values(i+1, base.Add(time.Duration(i)*time.Hour), base.AddDate(0, 0, int(i)), fmt.Sprint(10*i, ".50"), fmt.Sprint("item ", i))); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func list(ctx context.Context, db *database.DB, o database.Order, key func(item) []string, cursor string) (database.Result[item], error) {
	return database.Paginate(ctx, db.Q(ctx),
		database.SQL.Select("id", "at", "day", "amount::text AS amount", "title").From("items"),
		database.SQL.Select("count(*)").From("items"), o, database.Window{Limit: 2, Cursor: cursor}, key)
}

// Values a cursor of each type must refuse, even when the cursor is signed: they never reach
// SQL, so a cursor can only fail as 400 invalid_cursor, never as a database error.
var badValues = map[string][]string{
	"timestamptz": {"", "zzz", "2024-02-30T00:00:00Z", "2024-01-01T25:00:00Z", "0000-01-01T00:00:00Z",
		"2024-01-01", "2024-01-01T00:00:00", "infinity", "2024-01-01T00:00:00.000000001Z", "a\x00b"},
	"date":    {"", "zzz", "2024-02-30", "0000-01-01", "2024-1-1", "2024-01-01T00:00:00Z", "-infinity", "a\x00b"},
	"numeric": {"", "zzz", "1e3", "NaN", "Infinity", "1.", ".5", "--1", "0x10", "1 000", "a\x00b"},
	"text":    {"a\x00b"},
	"bigint":  {"", "zzz", "99999999999999999999", "-99999999999999999999", "1.5", "1e3", "0x10", " 1", "a\x00b"},
}

// Values of each type a cursor takes: what the stores render, and the limits of the types.
var goodValues = map[string][]string{
	"timestamptz": {"2026-03-01T12:00:00.123456Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2026-03-01T14:00:00+02:00"},
	"date":        {"2026-03-01", "0001-01-01", "9999-12-31", "infinity"},
	"numeric":     {"0", "10.50", "-1.5", "999999999999999999999999999999.99"},
	"text":        {"", "item 1", "zzz", "Ünïcødé ✓ '; DROP TABLE items; --"},
	"bigint":      {"0", "1", "-1", "9223372036854775807", "-9223372036854775808"},
}

// A cursor signed with the service's key but holding values no row can have (as a leaked key
// or a bug in a store would give) is refused before SQL; the values of every type that rows
// can have are taken. This checks the typing on its own, behind the signature.
func TestCursorValuesAreTypedBeforeSQL(t *testing.T) {
	t.Parallel()
	db := itemsDB(t)
	cursors := database.NewCursors([]byte("test-secret"))
	ctx := database.WithCursors(context.Background(), cursors)
	for typ, lo := range itemOrders {
		t.Run(typ, func(t *testing.T) {
			for _, v := range badValues[typ] {
				_, err := list(ctx, db, lo.order, lo.key, cursors.Encode(lo.order, []string{v, "1"}))
				if !errors.Is(err, database.ErrInvalidCursor) {
					t.Errorf("%s value %q: %v, want ErrInvalidCursor", typ, v, err)
				}
			}
			for _, v := range badValues["bigint"] {
				_, err := list(ctx, db, lo.order, lo.key, cursors.Encode(lo.order, []string{goodValues[typ][0], v}))
				if !errors.Is(err, database.ErrInvalidCursor) {
					t.Errorf("id %q: %v, want ErrInvalidCursor", v, err)
				}
			}
			for _, v := range goodValues[typ] {
				if _, err := list(ctx, db, lo.order, lo.key, cursors.Encode(lo.order, []string{v, "1"})); err != nil {
					t.Errorf("%s value %q: %v", typ, v, err)
				}
			}
			for _, v := range goodValues["bigint"] {
				if _, err := list(ctx, db, lo.order, lo.key, cursors.Encode(lo.order, []string{goodValues[typ][0], v})); err != nil {
					t.Errorf("id %q: %v", v, err)
				}
			}
		})
	}
}

// walkItems reads a whole list by cursor, two rows a page, and returns the ids in order.
func walkItems(t *testing.T, ctx context.Context, db *database.DB, o database.Order, key func(item) []string) ([]int64, []string) {
	t.Helper()
	var ids []int64
	var cursors []string
	cursor := ""
	for range 10 {
		res, err := list(ctx, db, o, key, cursor)
		if err != nil {
			t.Fatalf("%s after %q: %v", o.Key, cursor, err)
		}
		for _, it := range res.Items {
			ids = append(ids, it.ID)
		}
		if res.NextCursor == nil {
			return ids, cursors
		}
		cursor = *res.NextCursor
		cursors = append(cursors, cursor)
	}
	t.Fatalf("%s: did not end", o.Key)
	return nil, nil
}

// The cursors a list issues lead through it exactly once; a cursor is opaque base64url with
// no padding; the same secret (another replica) takes it, another secret or another list
// does not, and changing any byte of it makes it invalid.
func TestCursorsAreSignedAndBoundToTheirList(t *testing.T) {
	t.Parallel()
	db := itemsDB(t)
	ctx := database.WithCursors(context.Background(), database.NewCursors([]byte("secret one")))
	replica := database.WithCursors(context.Background(), database.NewCursors([]byte("secret one")))
	foreign := database.WithCursors(context.Background(), database.NewCursors([]byte("secret two")))
	for typ, lo := range itemOrders {
		ids, issued := walkItems(t, ctx, db, lo.order, lo.key)
		if fmt.Sprint(ids) != "[1 2 3 4 5]" && fmt.Sprint(ids) != "[5 4 3 2 1]" {
			t.Errorf("%s: walked %v", typ, ids)
		}
		if len(issued) != 2 {
			t.Fatalf("%s: %d cursors for 5 rows by 2", typ, len(issued))
		}
		c := issued[0]
		if _, err := base64.RawURLEncoding.DecodeString(c); err != nil || strings.ContainsAny(c, "+/=") {
			t.Errorf("%s: cursor %q is not unpadded base64url", typ, c)
		}
		if _, err := list(replica, db, lo.order, lo.key, c); err != nil {
			t.Errorf("%s: a replica with the same secret refuses the cursor: %v", typ, err)
		}
		if _, err := list(foreign, db, lo.order, lo.key, c); !errors.Is(err, database.ErrInvalidCursor) {
			t.Errorf("%s: a service with another secret: %v, want ErrInvalidCursor", typ, err)
		}
		if _, err := list(context.Background(), db, lo.order, lo.key, c); !errors.Is(err, database.ErrInvalidCursor) {
			t.Errorf("%s: a context without the service's cursors: %v, want ErrInvalidCursor", typ, err)
		}
		for other, lo2 := range itemOrders {
			if other == typ {
				continue
			}
			if _, err := list(ctx, db, lo2.order, lo2.key, c); !errors.Is(err, database.ErrInvalidCursor) {
				t.Errorf("%s cursor on the %s list: %v, want ErrInvalidCursor", typ, other, err)
			}
		}
		reversed := lo.order
		reversed.Desc = !reversed.Desc
		reversed.Key += ":reversed"
		if _, err := list(ctx, db, reversed, lo.key, c); !errors.Is(err, database.ErrInvalidCursor) {
			t.Errorf("%s cursor in the other direction: %v, want ErrInvalidCursor", typ, err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(c)
		for i := range raw {
			for _, bit := range []byte{0x01, 0x20} {
				b := bytes.Clone(raw)
				b[i] ^= bit
				_, err := list(ctx, db, lo.order, lo.key, base64.RawURLEncoding.EncodeToString(b))
				if !errors.Is(err, database.ErrInvalidCursor) {
					t.Fatalf("%s: byte %d of %s changed (%q): %v, want ErrInvalidCursor", typ, i, raw, b, err)
				}
			}
		}
	}
}

// Cursors made by hand, without the signature or with a signature that does not match, are
// refused whatever their values.
func TestUnsignedCursorsAreRefused(t *testing.T) {
	t.Parallel()
	db := itemsDB(t)
	ctx := database.WithCursors(context.Background(), database.NewCursors([]byte("secret")))
	lo := itemOrders["timestamptz"]
	_, issued := walkItems(t, ctx, db, lo.order, lo.key)
	var fields map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(issued[0])
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for name, c := range map[string]string{
		"empty":                   "",
		"not base64":              "!!!",
		"padded base64":           issued[0] + "=",
		"not JSON":                base64.RawURLEncoding.EncodeToString([]byte("zzz")),
		"JSON null":               enc(nil),
		"no signature":            enc(map[string]any{"k": fields["k"], "v": fields["v"]}),
		"empty signature":         enc(map[string]any{"k": fields["k"], "v": fields["v"], "s": ""}),
		"signature not base64":    enc(map[string]any{"k": fields["k"], "v": fields["v"], "s": "!"}),
		"signature of other data": enc(map[string]any{"k": fields["k"], "v": []any{"2020-01-01T00:00:00Z", "1"}, "s": fields["s"]}),
		"signature as a number":   enc(map[string]any{"k": fields["k"], "v": fields["v"], "s": 1}),
		"an unknown field":        enc(map[string]any{"k": fields["k"], "v": fields["v"], "s": fields["s"], "x": 1}),
		"trailing data":           base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), []byte(" {}")...)),
		"forged values":           enc(map[string]any{"k": fields["k"], "v": []any{"zzz", "99999999999999999999"}}),
		"null values":             enc(map[string]any{"k": fields["k"], "v": []any{nil, nil}, "s": fields["s"]}),
		"fields in another order": enc(map[string]any{"k": fields["k"], "v": fields["v"], "s": fields["s"]}), // k, s, v
		"field name in capitals":  base64.RawURLEncoding.EncodeToString(bytes.Replace(raw, []byte(`"k"`), []byte(`"K"`), 1)),
		"spaces":                  base64.RawURLEncoding.EncodeToString(bytes.ReplaceAll(raw, []byte(`,`), []byte(`, `))),
	} {
		if c == "" {
			continue // an empty cursor is the first page
		}
		if _, err := list(ctx, db, lo.order, lo.key, c); !errors.Is(err, database.ErrInvalidCursor) {
			t.Errorf("%s (%s): %v, want ErrInvalidCursor", name, c, err)
		}
	}
}
