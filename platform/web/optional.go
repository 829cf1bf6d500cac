package web

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
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

// TrimSpace returns o with surrounding white space removed from a present string value.
func TrimSpace(o Optional[string]) Optional[string] {
	if o.HasValue() {
		o.Value = strings.TrimSpace(o.Value)
	}
	return o
}

// valueType tells the body scan of Decode what the wrapper decodes into.
func (o *Optional[T]) valueType() reflect.Type { return reflect.TypeFor[T]() }
