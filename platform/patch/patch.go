// Package patch holds what partial updates are made of: a field that tells apart "absent"
// (leave the value as it is), "null" (clear it) and a value. Handlers decode request bodies
// into it and services decide on it, so it belongs to neither the web layer nor a module.
package patch

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
)

// Optional is a JSON field of a partial update that tells apart "absent" (leave the value
// as it is), "null" (clear it) and a value. Decoding never validates the value: callers
// check Set values themselves, since struct tags cannot reach inside the wrapper.
type Optional[T any] struct {
	Set   bool // the field was present in the document, null included
	Null  bool // the field was present and null
	Value T    // the decoded value when Set and not Null
}

// UnmarshalJSON implements json.Unmarshaler. It is only called for fields present in the
// document, which is what makes an absent field distinguishable.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Null = true
		var zero T
		o.Value = zero
		return nil
	}
	o.Null = false
	// A type error returned unchanged lets the outer decoder add the field name to it.
	return json.Unmarshal(b, &o.Value)
}

// HasValue reports whether the field was present with a non-null value.
func (o Optional[T]) HasValue() bool { return o.Set && !o.Null }

// Ptr returns a pointer to the value when the field carries one, else nil.
func (o Optional[T]) Ptr() *T {
	if !o.HasValue() {
		return nil
	}
	v := o.Value
	return &v
}

// Some returns an Optional holding v, for callers that build partial updates in code.
func Some[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: v} }

// Null returns an Optional that clears the field.
func Null[T any]() Optional[T] { return Optional[T]{Set: true, Null: true} }

// ValueType tells a decoder that inspects documents before decoding them what the wrapper
// decodes into.
func (o *Optional[T]) ValueType() reflect.Type { return reflect.TypeFor[T]() }

// Precondition is the version a write expects the record to have (an HTTP If-Match, once the
// web layer has read it): none, any existing version, or one of a set of entity tags.
type Precondition struct {
	given bool
	any   bool
	tags  []string
}

// Unconditional is no precondition: the write applies to whatever version exists.
func Unconditional() Precondition { return Precondition{} }

// AnyVersion matches every existing version.
func AnyVersion() Precondition { return Precondition{given: true, any: true} }

// OneOf matches the versions whose entity tags (quoted, compared byte for byte) are listed;
// an empty list matches nothing.
func OneOf(tags ...string) Precondition { return Precondition{given: true, tags: tags} }

// Matches reports whether a record whose current entity tag is current may be written.
func (p Precondition) Matches(current string) bool {
	if !p.given || p.any {
		return true
	}
	return slices.Contains(p.tags, current)
}

// State reports whether the field was present and whether it was null, and its value as an
// any (nil unless it carries one): what a validator needs without knowing T.
func (o Optional[T]) State() (set, null bool, value any) {
	if o.HasValue() {
		return true, false, o.Value
	}
	return o.Set, o.Null, nil
}
