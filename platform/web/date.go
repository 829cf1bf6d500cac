package web

import (
	"bytes"
	"encoding/json"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
)

// DateMessage explains the accepted date formats, after the field name.
const DateMessage = "must be a date as YYYY-MM-DD or an RFC 3339 date-time such as 2026-11-27T10:15:00Z"

// datePattern is the shape of an accepted date, the same as the DateInput schema of the
// OpenAPI document. time.Parse alone is too lenient (it takes one-digit hours, for one).
var datePattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$`)

// DateInput is a calendar date sent by a client: YYYY-MM-DD, or an RFC 3339 date-time. A
// date-time with an offset (or Z) is an instant whose date depends on the time zone it is seen
// in: In takes it in the organization's; Time and String take it in UTC. A date-time without
// an offset is a wall-clock time, whose own date is taken wherever it is read. The zero value
// is no date.
//
// Decoding errors must name the JSON field, which a decoder cannot know, so a field declares
// a small type that says its name:
//
//	type dueDate struct{ web.DateInput }
//
//	func (d *dueDate) UnmarshalJSON(b []byte) error { return d.UnmarshalJSONField("due_date", b) }
type DateInput struct {
	t       time.Time // midnight UTC of the date; the instant given when instant is true
	instant bool
}

// NewDateInput returns the date of t in UTC.
func NewDateInput(t time.Time) DateInput {
	t = t.UTC()
	return DateInput{t: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}

// In returns the date as seen in loc: an instant's date there, any other date unchanged.
func (d DateInput) In(loc *time.Location) DateInput {
	if !d.instant {
		return d
	}
	t := d.t.In(loc)
	return DateInput{t: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}

// ParseDate reads a date in one of the accepted formats. It returns midnight UTC of the
// date; the error is about the value only, the caller names the field.
func ParseDate(s string) (DateInput, error) {
	if !datePattern.MatchString(s) {
		return DateInput{}, &FieldDecodeError{Message: DateMessage}
	}
	var t time.Time
	var err error
	instant := true
	switch {
	case len(s) == len(time.DateOnly):
		t, err = time.Parse(time.DateOnly, s)
		instant = false
	case s[len(s)-1] == 'Z':
		t, err = time.Parse(time.RFC3339, s)
	case s[len(s)-6] == '+' || s[len(s)-6] == '-':
		if !validOffset(s[len(s)-5:]) {
			return DateInput{}, &FieldDecodeError{Message: DateMessage}
		}
		t, err = time.Parse(time.RFC3339, s)
	default:
		t, err = time.Parse("2006-01-02T15:04:05", s) // fractional seconds are accepted too
		instant = false
	}
	// Year 0 exists in neither the Gregorian calendar of clients nor in PostgreSQL.
	if err != nil || t.UTC().Year() < 1 || t.UTC().Year() > 9999 {
		return DateInput{}, &FieldDecodeError{Message: DateMessage}
	}
	if instant {
		return DateInput{t: t, instant: true}, nil
	}
	return NewDateInput(t), nil
}

// validOffset reports whether hh:mm, a numeric offset whose four digits datePattern has
// checked, is within what RFC 3339 allows: hours 00 to 23, minutes 00 to 59. time.Parse
// alone takes +24:00 and minutes of 60.
func validOffset(hhmm string) bool {
	return hhmm[:2] <= "23" && hhmm[3:] <= "59"
}

// IsZero reports whether d holds no date.
func (d DateInput) IsZero() bool { return d.t.IsZero() }

// Time returns midnight UTC of the date (an instant's date in UTC; see In).
func (d DateInput) Time() time.Time { return d.In(time.UTC).t }

// String renders the date as YYYY-MM-DD (an instant's date in UTC; see In).
func (d DateInput) String() string { return d.Time().Format(time.DateOnly) }

// MarshalJSON renders the date as "YYYY-MM-DD", so that a decoded request can be echoed.
func (d DateInput) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.Time().Format(time.DateOnly) + `"`), nil
}

// UnmarshalJSONField decodes a JSON string holding a date for the JSON field named field.
// Its errors are *FieldDecodeError about that field, which Bind reports as a 400. JSON null
// leaves d as it is (a pointer or an Optional tells null apart).
func (d *DateInput) UnmarshalJSONField(field string, b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if len(b) == 0 || b[0] != '"' || json.Unmarshal(b, &s) != nil {
		return &FieldDecodeError{Field: field, Message: DateMessage}
	}
	v, err := ParseDate(s)
	if err != nil {
		return &FieldDecodeError{Field: field, Message: DateMessage}
	}
	*d = v
	return nil
}

// QueryDate reads an optional date from the query parameter name. An invalid value is a 400
// invalid_query naming the parameter.
func QueryDate(c *fiber.Ctx, name string) (*DateInput, error) {
	v := c.Query(name)
	if v == "" {
		return nil, nil
	}
	d, err := ParseDate(v)
	if err != nil {
		return nil, apperr.InvalidField("invalid_query", name, DateMessage, name+" "+DateMessage)
	}
	return &d, nil
}
