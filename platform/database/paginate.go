package database

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/listing"
)

// KeyCol is one column of a list order: the SQL expression and its type, for the cast of
// the cursor value it is compared with.
type KeyCol struct {
	Expr string
	Type string
}

// Order is a list order over columns that all run in one direction; the last column must
// be unique (the id), so that the order is total and pages never overlap.
type Order struct {
	Key  string // names the order in cursors; a cursor is valid only for the order that made it
	Cols []KeyCol
	Desc bool
}

func (o Order) orderBy() []string {
	dir := " ASC"
	if o.Desc {
		dir = " DESC"
	}
	out := make([]string, len(o.Cols))
	for i, c := range o.Cols {
		out[i] = c.Expr + dir
	}
	return out
}

// seek is the keyset condition "after the row with these key values".
func (o Order) seek(values []string) sq.Sqlizer {
	exprs := make([]string, len(o.Cols))
	params := make([]string, len(o.Cols))
	args := make([]any, len(o.Cols))
	for i, c := range o.Cols {
		exprs[i] = c.Expr
		params[i] = "?::text::" + c.Type
		args[i] = values[i]
	}
	op := ">"
	if o.Desc {
		op = "<"
	}
	return sq.Expr("("+strings.Join(exprs, ", ")+") "+op+" ("+strings.Join(params, ", ")+")", args...)
}

// Window is the part of a list a client asks for (the one type of the service, named here
// too for the stores that page with Paginate).
type Window = listing.Window

// Result is one window of a list.
type Result[T any] = listing.Result[T]

// ErrInvalidCursor is the 400 for a cursor that this list did not make.
var ErrInvalidCursor = apperr.InvalidField("invalid_cursor", "cursor", "is not a cursor of this list",
	"cursor is not valid for this list; a cursor only works with the list and order that returned it")

// Cursors issues and reads the cursors of lists. A cursor is the base64url form of a JSON
// object: "k" names the list and its order, "v" holds the order's key values of the last row
// of a page, and "s" is the HMAC-SHA256 of both. The signature means that only this service,
// or a replica sharing its secret, can make a cursor that is accepted; the key binds it to
// the list and order that made it. Each value is still checked against the type of its
// column before it reaches SQL, so a cursor is either followed or refused with
// ErrInvalidCursor, never turned into a database error.
type Cursors struct{ key []byte }

// NewCursors derives the signing key of cursors from the service's secret as
// HMAC-SHA256(secret, "cursor-v1"): cursors need no configuration of their own, replicas
// sharing the secret accept each other's cursors, and the secret itself signs only tokens.
func NewCursors(secret []byte) Cursors {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("cursor-v1"))
	return Cursors{key: m.Sum(nil)}
}

type cursorsKey struct{}

// WithCursors makes the lists read under ctx issue and accept cursors signed by c.
func WithCursors(ctx context.Context, c Cursors) context.Context {
	return context.WithValue(ctx, cursorsKey{}, c)
}

// processCursors signs the cursors of lists read under a context without WithCursors, with
// a key that lives as long as the process.
var processCursors = func() Cursors {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails on supported platforms
	return NewCursors(secret)
}()

// CursorsFrom returns the cursors of ctx (see WithCursors).
func CursorsFrom(ctx context.Context) Cursors {
	if c, ok := ctx.Value(cursorsKey{}).(Cursors); ok && len(c.key) > 0 {
		return c
	}
	return processCursors
}

// signed is what a cursor's signature covers.
type signed struct {
	K string   `json:"k"`
	V []string `json:"v"`
}

func (c Cursors) sign(s signed) []byte {
	b, _ := json.Marshal(s)
	m := hmac.New(sha256.New, c.key)
	m.Write(b)
	return m.Sum(nil)
}

// Encode makes the cursor of order o for the row with the given key values.
func (c Cursors) Encode(o Order, values []string) string {
	return c.encode(signed{K: o.Key, V: values})
}

func (c Cursors) encode(s signed) string {
	b, _ := json.Marshal(struct {
		signed
		S string `json:"s"`
	}{s, base64.RawURLEncoding.EncodeToString(c.sign(s))})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the key values of a cursor of order o, each in the canonical text form of
// its column's type. Anything but a cursor c issued for o is ErrInvalidCursor.
func (c Cursors) Decode(raw string, o Order) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil, ErrInvalidCursor
	}
	var in struct {
		K *string   `json:"k"`
		V []*string `json:"v"`
		S *string   `json:"s"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.K == nil || in.V == nil || in.S == nil {
		return nil, ErrInvalidCursor
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, ErrInvalidCursor
	}
	s := signed{K: *in.K, V: make([]string, len(in.V))}
	for i, v := range in.V {
		if v == nil {
			return nil, ErrInvalidCursor
		}
		s.V[i] = *v
	}
	mac, err := base64.RawURLEncoding.DecodeString(*in.S)
	if err != nil || !hmac.Equal(mac, c.sign(s)) {
		return nil, ErrInvalidCursor
	}
	// Only the exact text the service issued: no other spelling of the same content.
	if c.encode(s) != raw {
		return nil, ErrInvalidCursor
	}
	if s.K != o.Key || len(s.V) != len(o.Cols) {
		return nil, ErrInvalidCursor
	}
	out := make([]string, len(s.V))
	for i, col := range o.Cols {
		v, err := keyValue(col.Type, s.V[i])
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// numericKey is the text of a numeric key value: digits, optionally signed, with optional
// decimals (no exponent, NaN or infinity, which the service never writes). Its length is
// bounded by maxNumericKey, far below PostgreSQL's limits.
var numericKey = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

const maxNumericKey = 1000

// keyValue checks a cursor value against the SQL type of its column and returns it in the
// text form PostgreSQL casts to that type without error.
func keyValue(typ, v string) (string, error) {
	if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
		return "", ErrInvalidCursor
	}
	switch typ {
	case "bigint":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", ErrInvalidCursor
		}
		return IDKey(n), nil
	case "timestamptz":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || t.UTC().Year() < 1 || t.UTC().Year() > 9999 || t.Nanosecond()%1000 != 0 {
			return "", ErrInvalidCursor
		}
		return TimeKey(t), nil
	case "date":
		if v == "infinity" {
			return v, nil
		}
		d, err := time.Parse(time.DateOnly, v)
		if err != nil || d.Year() < 1 || d.Format(time.DateOnly) != v {
			return "", ErrInvalidCursor
		}
		return v, nil
	case "numeric":
		if len(v) > maxNumericKey || !numericKey.MatchString(v) {
			return "", ErrInvalidCursor
		}
		return v, nil
	case "text":
		return v, nil
	}
	return "", fmt.Errorf("cursor: no key values of type %q", typ)
}

// Paginate runs a list query for one window. sel holds the columns, table and filters;
// count the same filters under count(*). key returns the order's key values of a row, as
// text the columns' types can be cast from. Deep windows by cursor cost as much as the first:
// the keyset condition walks the index instead of skipping rows. Cursors are issued and read
// with the Cursors of ctx (see WithCursors).
func Paginate[T any](ctx context.Context, q Querier, sel, count sq.SelectBuilder, o Order, w Window, key func(T) []string) (Result[T], error) {
	var res Result[T]
	cursors := CursorsFrom(ctx)
	sel = sel.OrderBy(o.orderBy()...).Limit(w.Limit + 1)
	if w.Cursor != "" {
		after, err := cursors.Decode(w.Cursor, o)
		if err != nil {
			return res, err
		}
		sel = sel.Where(o.seek(after))
	} else if w.Offset > 0 {
		sel = sel.Offset(w.Offset)
	}
	// A list whose total is counted here, not kept, is one the kept counts do not cover (a
	// search, most filters): its page walks rows until it has a page of matches and its count
	// visits every match, so both run in a scan slot.
	var rows []T
	err := inSlot(ctx, q, w.Count, func() (err error) {
		rows, err = Select[T](ctx, q, sel)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("list: %w", err)
	}
	if uint64(len(rows)) > w.Limit {
		rows = rows[:w.Limit]
		next := cursors.Encode(o, key(rows[len(rows)-1]))
		res.NextCursor = &next
	}
	res.Items = rows
	if w.Count {
		total, capped, err := countTotal(ctx, q, count, w, len(rows), res.NextCursor == nil)
		if err != nil {
			return res, err
		}
		res.Total, res.TotalCapped = &total, capped
	}
	return res, nil
}

// countTotal counts what a list's filters match (count is their count(*) query). An offset
// window that holds the last rows already knows the total; otherwise the count stops at
// listing.TotalCap unless the window asks for the exact one, so that a broad filter in a
// large organization costs a bounded scan instead of one over every match.
func countTotal(ctx context.Context, q Querier, count sq.SelectBuilder, w Window, rows int, last bool) (int64, bool, error) {
	if last && w.Cursor == "" && (rows > 0 || w.Offset == 0) {
		return int64(w.Offset) + int64(rows), false, nil
	}
	if !w.Exact {
		count = SQL.Select("count(*)").FromSelect(count.RemoveColumns().Column("1").Limit(listing.TotalCap+1), "capped")
	}
	var n int64
	err := inSlot(ctx, q, true, func() (err error) {
		n, err = Scalar[int64](ctx, q, count)
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("count: %w", err)
	}
	if w.Exact {
		return n, false, nil
	}
	total, capped := listing.Capped(n)
	return total, capped, nil
}

// MapResult converts the items of a result.
func MapResult[R, T any](r Result[R], f func(R) T) Result[T] {
	items := make([]T, len(r.Items))
	for i, it := range r.Items {
		items[i] = f(it)
	}
	return Result[T]{Items: items, Total: r.Total, NextCursor: r.NextCursor, TotalCapped: r.TotalCapped}
}

// TimeKey renders a timestamp as a cursor value, exactly (PostgreSQL keeps microseconds).
func TimeKey(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// IDKey renders an id as a cursor value.
func IDKey(id int64) string { return strconv.FormatInt(id, 10) }

// KeptTotal runs a list whose total the service may keep up to date itself (counts written
// in every write's transaction): when the window asks for a total and kept knows it, list
// pages without counting and the kept total, exact, is reported; otherwise list counts.
func KeptTotal[T any](w Window, kept func() (total int64, ok bool, err error), list func(Window) (Result[T], error)) (Result[T], error) {
	if !w.Count {
		return list(w)
	}
	n, ok, err := kept()
	if err != nil {
		return Result[T]{}, err
	}
	if !ok {
		return list(w)
	}
	w.Count = false
	res, err := list(w)
	if err == nil {
		res.Total = &n
	}
	return res, err
}
