package web

import (
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
)

// ErrReadOnlyField is the 400 for a body that sends a field its record renders but only the
// service sets (a deal's closed_at, a task's completed_at): one error for every module, so a
// client meets one code whatever the record.
var ErrReadOnlyField = apperr.Invalid("read_only_field", "the field is read only: the service sets it")

// RefuseReadOnly refuses a JSON body that sends any of the read-only fields, naming every one
// it sends, before binding (which would call them unknown). A body that is no JSON object is
// left to Bind to report.
func RefuseReadOnly(c *fiber.Ctx, fields ...string) error {
	var body map[string]json.RawMessage
	_ = json.Unmarshal(c.Body(), &body) // not a JSON object: body stays empty, Bind reports it
	var sent []string
	var bad []apperr.FieldError
	for _, f := range fields {
		if _, ok := body[f]; ok {
			sent = append(sent, f)
			bad = append(bad, apperr.FieldError{Field: f, Message: "is read only"})
		}
	}
	if len(sent) == 0 {
		return nil
	}
	verb := " is"
	if len(sent) > 1 {
		verb = " are"
	}
	e := ErrReadOnlyField.WithDetail(strings.Join(sent, ", ") + verb + " read only: the service sets it")
	e.Fields = bad
	return e
}

// ReadOnlyField is ErrReadOnlyField about one field.
func ReadOnlyField(field string) *apperr.Error {
	e := ErrReadOnlyField.WithDetail(field + " is read only: the service sets it")
	e.Fields = []apperr.FieldError{{Field: field, Message: "is read only"}}
	return e
}
