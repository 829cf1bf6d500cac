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
