package web

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
)

// Page is a validated page request.
type Page struct {
	Page     int
	PageSize int
}

// Offset is the number of rows before the page.
func (p Page) Offset() uint64 { return uint64((p.Page - 1) * p.PageSize) }

// Limit is the page size as a SQL limit.
func (p Page) Limit() uint64 { return uint64(p.PageSize) }

// Pagination limits.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// List is the envelope of every paginated list.
type List[T any] struct {
	Items    []T   `json:"items"`
	Page     int   `json:"page"`
	PageSize int   `json:"page_size"`
	Total    int64 `json:"total"`
}

// NewList wraps items, never rendering a null array.
func NewList[T any](items []T, p Page, total int64) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, Page: p.Page, PageSize: p.PageSize, Total: total}
}

// PageFrom reads page and page_size from the query string.
func PageFrom(c *fiber.Ctx) (Page, error) {
	p := Page{Page: 1, PageSize: DefaultPageSize}
	var fields []apperr.FieldError
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
