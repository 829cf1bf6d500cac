package database

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/platform/apperr"
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

// Window is the part of a list a client asks for: either a page by offset or the rows after
// a cursor, and whether to count the total.
type Window struct {
	Limit  uint64
	Offset uint64
	Cursor string // opaque; "" for offset pages
	Count  bool
}

// Result is one window of a list.
type Result[T any] struct {
	Items      []T
	Total      *int64  // nil when the window did not ask for a count
	NextCursor *string // nil on the last page
}

// ErrInvalidCursor is the 400 for a cursor that this list did not make.
var ErrInvalidCursor = apperr.InvalidField("invalid_cursor", "cursor", "is not a cursor of this list",
	"cursor is not valid for this list; a cursor only works with the list and order that returned it")

type cursor struct {
	K string   `json:"k"`
	V []string `json:"v"`
}

// EncodeCursor makes the opaque cursor for the row with the given key values.
func EncodeCursor(key string, values []string) string {
	b, _ := json.Marshal(cursor{K: key, V: values})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(raw string, o Order) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil, ErrInvalidCursor
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.K != o.Key || len(c.V) != len(o.Cols) {
		return nil, ErrInvalidCursor
	}
	return c.V, nil
}

// Paginate runs a list query for one window. sel holds the columns, table and filters;
// count the same filters under count(*). key returns the order's key values of a row, as
// text the columns' types can be cast from. Deep windows by cursor cost as much as the first:
// the keyset condition walks the index instead of skipping rows.
func Paginate[T any](ctx context.Context, q Querier, sel, count sq.SelectBuilder, o Order, w Window, key func(T) []string) (Result[T], error) {
	var res Result[T]
	sel = sel.OrderBy(o.orderBy()...).Limit(w.Limit + 1)
	if w.Cursor != "" {
		after, err := decodeCursor(w.Cursor, o)
		if err != nil {
			return res, err
		}
		sel = sel.Where(o.seek(after))
	} else if w.Offset > 0 {
		sel = sel.Offset(w.Offset)
	}
	rows, err := Select[T](ctx, q, sel)
	if err != nil {
		return res, fmt.Errorf("list: %w", err)
	}
	if uint64(len(rows)) > w.Limit {
		rows = rows[:w.Limit]
		next := EncodeCursor(o.Key, key(rows[len(rows)-1]))
		res.NextCursor = &next
	}
	res.Items = rows
	if w.Count {
		total, err := Scalar[int64](ctx, q, count)
		if err != nil {
			return res, fmt.Errorf("count: %w", err)
		}
		res.Total = &total
	}
	return res, nil
}

// MapResult converts the items of a result.
func MapResult[R, T any](r Result[R], f func(R) T) Result[T] {
	items := make([]T, len(r.Items))
	for i, it := range r.Items {
		items[i] = f(it)
	}
	return Result[T]{Items: items, Total: r.Total, NextCursor: r.NextCursor}
}

// TimeKey renders a timestamp as a cursor value, exactly (PostgreSQL keeps microseconds).
func TimeKey(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// IDKey renders an id as a cursor value.
func IDKey(id int64) string { return strconv.FormatInt(id, 10) }
