package apperr

// FieldDecodeError is returned by the JSON decoders of domain values (money, dates) to name
// what is wrong with a field; the web layer's body decoding turns it into a 400 about Field.
// It lives here, beside the other errors, so that domain packages need not know the web layer.
type FieldDecodeError struct {
	Field   string
	Message string
}

func (e *FieldDecodeError) Error() string { return e.Field + " " + e.Message }
