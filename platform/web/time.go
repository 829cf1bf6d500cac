package web

import "time"

// Time renders as RFC 3339 in UTC with a Z and whole seconds, as the API promises.
type Time time.Time

// MarshalText implements encoding.TextMarshaler, which encoding/json writes as a string.
// (A MarshalJSON method's output is validated and compacted again by the encoder: for the
// times and amounts of a list page that was a twentieth of the service's CPU.)
func (t Time) MarshalText() ([]byte, error) {
	return time.Time(t).UTC().AppendFormat(nil, time.RFC3339), nil
}

// Date renders as YYYY-MM-DD.
type Date time.Time

// MarshalText implements encoding.TextMarshaler, which encoding/json writes as a string.
func (d Date) MarshalText() ([]byte, error) {
	return time.Time(d).AppendFormat(nil, time.DateOnly), nil
}
