// Package apperr defines the error kinds that cross module boundaries. Services return them;
// the web layer alone decides how each kind is rendered (RFC 9457 problem details).
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	KindInternal Kind = iota
	KindInvalid
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindConflict
	KindPreconditionFailed
	KindUnprocessable
	KindTooManyRequests
	KindUnavailable
	// KindGone is a resource that existed and no longer does (an expired feed cursor).
	KindGone
	// KindNotAcceptable is a request for a representation the route cannot produce (an
	// export in a format it does not write).
	KindNotAcceptable
)

// FieldError names one invalid input field by its JSON name (dotted for nesting).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an application error with a stable machine code and a human sentence.
type Error struct {
	Kind   Kind
	Code   string
	Detail string
	Fields []FieldError
	Err    error
	// RetryAfter, when set, tells the client how long to wait (429, 503).
	RetryAfter time.Duration
	// from is the error this one was derived from by Wrap, WithDetail or After; nil for an
	// error made by a constructor.
	from *Error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.Err)
	}
	return e.Code + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is match an error with the sentinel it was derived from: e matches target
// when target is e itself or an error e descends from through Wrap, WithDetail or After.
// Errors are matched by identity, never by kind or code: two sentinels are different errors
// even when they share a code, and a copy derived from one sentinel does not match another
// copy derived from the same sentinel.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil {
		return false
	}
	for x := e; x != nil; x = x.from {
		if x == t {
			return true
		}
	}
	return false
}

// New returns an error of the given kind.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Invalid is a 400: the request data breaks a rule. Fields may name the offending inputs.
func Invalid(code, detail string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: code, Detail: detail, Fields: fields}
}

// InvalidFields is a 400 about every field listed (at least one); its detail names the first
// and counts the others.
func InvalidFields(code string, fields ...FieldError) *Error {
	detail := fields[0].Field + " " + fields[0].Message
	if len(fields) > 1 {
		detail += fmt.Sprintf(" (and %d more invalid fields)", len(fields)-1)
	}
	return Invalid(code, detail, fields...)
}

// InvalidField is a 400 about one field.
func InvalidField(code, field, message, detail string) *Error {
	return Invalid(code, detail, FieldError{Field: field, Message: message})
}

func Unauthenticated(code, detail string) *Error { return New(KindUnauthenticated, code, detail) }
func Forbidden(code, detail string) *Error       { return New(KindForbidden, code, detail) }
func NotFound(code, detail string) *Error        { return New(KindNotFound, code, detail) }
func Conflict(code, detail string) *Error        { return New(KindConflict, code, detail) }
func Unavailable(code, detail string) *Error     { return New(KindUnavailable, code, detail) }

// derive returns a copy of e that remembers e, so that errors.Is matches it with e and with
// everything e was derived from.
func (e *Error) derive() *Error {
	c := *e
	c.from = e
	return &c
}

// Wrap attaches a cause to a copy of e, keeping its kind and code; the copy is e for errors.Is.
func (e *Error) Wrap(cause error) *Error {
	c := e.derive()
	c.Err = cause
	return c
}

// WithDetail returns a copy of e with another human sentence; the copy is e for errors.Is.
func (e *Error) WithDetail(detail string) *Error {
	c := e.derive()
	c.Detail = detail
	return c
}

// After returns a copy of e that tells the client to retry after d; the copy is e for
// errors.Is.
func (e *Error) After(d time.Duration) *Error {
	c := e.derive()
	c.RetryAfter = d
	return c
}

// As extracts an *Error from err's chain. A nil *Error in the chain is no error.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e, true
	}
	return nil, false
}

// KindOf returns err's kind, KindInternal when err carries none.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return KindInternal
}
