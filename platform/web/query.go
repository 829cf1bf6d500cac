package web

import (
	"slices"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
)

// PageParams are the query parameters of every paginated list (see PageFrom).
var PageParams = []string{"page", "page_size", "cursor", "include_total"}

// strictQuery refuses a request that carries a query parameter the route does not take with
// 400 unknown_parameter naming every such parameter, so that a typo (?statuss=won) is never
// silently ignored. Names starting with "_" are ignored (cache busters).
func strictQuery(allowed []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var unknown []string
		c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
			name := string(k)
			if strings.HasPrefix(name, "_") || slices.Contains(allowed, name) || slices.Contains(unknown, name) {
				return
			}
			unknown = append(unknown, name)
		})
		if len(unknown) == 0 {
			return c.Next()
		}
		fields := make([]apperr.FieldError, len(unknown))
		for i, name := range unknown {
			fields[i] = apperr.FieldError{Field: printableName(name), Message: unknownParamMessage(allowed)}
		}
		return apperr.InvalidFields("unknown_parameter", fields...)
	}
}

func unknownParamMessage(allowed []string) string {
	if len(allowed) == 0 {
		return "is not a parameter of this endpoint, which takes none"
	}
	names := slices.Clone(allowed)
	sort.Strings(names)
	return "is not a parameter of this endpoint; it takes: " + strings.Join(names, ", ")
}

// QueryErrors merges the 400 invalid_query errors of the readers of one request's query
// (PageFrom, a module's filter) into one error naming every bad parameter. The first error
// that is not an invalid_query (an invalid cursor) wins when no parameter is invalid.
func QueryErrors(errs ...error) error {
	var fields []apperr.FieldError
	var other error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if ae, ok := apperr.As(err); ok && ae.Code == "invalid_query" && len(ae.Fields) > 0 {
			fields = append(fields, ae.Fields...)
			continue
		}
		if other == nil {
			other = err
		}
	}
	if len(fields) > 0 {
		return apperr.InvalidFields("invalid_query", fields...)
	}
	return other
}

// Order is the order of a list as its query asks for it.
type Order struct {
	By   string // one of the list's keys
	Desc bool
}

// OrderFrom reads order_by, one of keys (the first key when absent), and order, asc or desc
// (when absent: descending, except for the keys named in ascending). An invalid value is
// appended to bad, naming its parameter, so that the list reports it with the others.
func OrderFrom(c *fiber.Ctx, keys, ascending []string, bad *[]apperr.FieldError) Order {
	o := Order{By: keys[0]}
	if v := c.Query("order_by"); v != "" {
		if slices.Contains(keys, v) {
			o.By = v
		} else {
			*bad = append(*bad, apperr.FieldError{Field: "order_by", Message: "must be one of: " + strings.Join(keys, ", ")})
		}
	}
	o.Desc = !slices.Contains(ascending, o.By)
	switch c.Query("order") {
	case "":
	case "asc":
		o.Desc = false
	case "desc":
		o.Desc = true
	default:
		*bad = append(*bad, apperr.FieldError{Field: "order", Message: "must be one of: asc, desc"})
	}
	return o
}
