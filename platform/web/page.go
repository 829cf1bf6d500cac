package web

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/database"
)

// Page is a validated page request: a page number, or a cursor from a previous response.
type Page struct {
	Page       int // 0 when Cursor is used
	PageSize   int
	Cursor     string // opaque next_cursor of a previous page
	SkipTotal  bool   // include_total=false: the client does not need the count
	ExactTotal bool   // include_total=exact: count every match however long it takes
}

// Offset is the number of rows before the page.
func (p Page) Offset() uint64 {
	if p.Page < 1 {
		return 0
	}
	return uint64((p.Page - 1) * p.PageSize)
}

// Limit is the page size as a SQL limit.
func (p Page) Limit() uint64 { return uint64(p.PageSize) }

// Window is the page as the database layer takes it.
func (p Page) Window() database.Window {
	return database.Window{Limit: p.Limit(), Offset: p.Offset(), Cursor: p.Cursor, Count: !p.SkipTotal, Exact: p.ExactTotal}
}

// Pagination limits.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	MaxCursorLength = 2048
)

// SignCursors makes the lists of the requests it handles issue and accept cursors signed
// with c (see database.Cursors): a cursor is taken only from the service that issued it, or
// from a replica sharing its secret, and only by the list and order it was issued for.
func SignCursors(c database.Cursors) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		ctx.SetUserContext(database.WithCursors(ctx.UserContext(), c))
		return ctx.Next()
	}
}

// List is the envelope of every paginated list. page is null for a page read by cursor;
// total is null when the client asked to skip it, and stops at 10,000 (total_capped true)
// unless it is exact for free or the client asked for the exact count; next_cursor is null
// on the last page.
type List[T any] struct {
	Items       []T     `json:"items"`
	Page        *int    `json:"page"`
	PageSize    int     `json:"page_size"`
	Total       *int64  `json:"total"`
	TotalCapped bool    `json:"total_capped"`
	NextCursor  *string `json:"next_cursor"`
}

// NewList wraps items, never rendering a null array.
func NewList[T any](items []T, p Page, total *int64, next *string) List[T] {
	if items == nil {
		items = []T{}
	}
	l := List[T]{Items: items, PageSize: p.PageSize, Total: total, NextCursor: next}
	if p.Cursor == "" {
		n := p.Page
		l.Page = &n
	}
	return l
}

// ListOf wraps a database result whose rows are rendered by render.
func ListOf[R, T any](res database.Result[R], p Page, render func(R) T) List[T] {
	items := make([]T, len(res.Items))
	for i, r := range res.Items {
		items[i] = render(r)
	}
	l := NewList(items, p, res.Total, res.NextCursor)
	l.TotalCapped = res.TotalCapped
	return l
}

// PageFrom reads page, page_size, cursor and include_total from the query string. page and
// cursor exclude each other. The cursor stays opaque here: the list that reads it checks it.
func PageFrom(c *fiber.Ctx) (Page, error) {
	p := Page{Page: 1, PageSize: DefaultPageSize}
	var fields []apperr.FieldError
	if v := c.Query("cursor"); v != "" {
		if c.Query("page") != "" {
			fields = append(fields, apperr.FieldError{Field: "cursor", Message: "cannot be combined with page"})
		} else if len(v) > MaxCursorLength {
			return p, database.ErrInvalidCursor // no list issues cursors this long
		} else {
			p.Page, p.Cursor = 0, v
		}
	}
	switch c.Query("include_total") {
	case "", "true":
	case "false":
		p.SkipTotal = true
	case "exact":
		p.ExactTotal = true
	default:
		fields = append(fields, apperr.FieldError{Field: "include_total", Message: "must be true, false or exact"})
	}
	if v := c.Query("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			fields = append(fields, apperr.FieldError{Field: "page", Message: "must be an integer of at least 1"})
		} else {
			p.Page = n
		}
	}
	if v := c.Query("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			fields = append(fields, apperr.FieldError{Field: "page_size", Message: "must be an integer from 1 to 100"})
		} else {
			p.PageSize = n
		}
	}
	if len(fields) > 0 {
		return p, apperr.Invalid("invalid_query", fields[0].Field+" "+fields[0].Message, fields...)
	}
	return p, nil
}

// QueryInt64 reads an optional positive id from the query string.
func QueryInt64(c *fiber.Ctx, name string) (*int64, error) {
	v := c.Query(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return nil, apperr.InvalidField("invalid_query", name, "must be a positive integer", name+" must be a positive integer")
	}
	return &n, nil
}

// PathID reads a positive integer id from the path parameter name. Anything else is a 404:
// no resource can live at such a path.
func PathID(c *fiber.Ctx, name string) (int64, error) {
	n, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || n < 1 {
		return 0, apperr.NotFound("not_found", "no resource lives at this path")
	}
	return n, nil
}
