package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
)

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

// Validator returns the shared validator. Field names in its errors are JSON names.
func Validator() *validator.Validate {
	validateOnce.Do(func() {
		v := validator.New(validator.WithRequiredStructEnabled())
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			if name == "" {
				return f.Name
			}
			return name
		})
		_ = v.RegisterValidation("notblank", func(fl validator.FieldLevel) bool {
			return strings.TrimSpace(fl.Field().String()) != ""
		})
		validate = v
	})
	return validate
}

// Bind decodes the JSON body of c into dst, rejecting unknown fields, and validates it.
// dst must be a pointer to a struct.
func Bind(c *fiber.Ctx, dst any) error {
	if err := requireJSON(c); err != nil {
		return err
	}
	if err := Decode(c.Body(), dst); err != nil {
		return err
	}
	trimFields(dst)
	return Validate(dst)
}

// trimFields trims surrounding white space from the string and *string fields of the
// struct dst points to that are tagged trim:"true", before they are validated.
func trimFields(dst any) {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return
	}
	v = v.Elem()
	t := v.Type()
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("trim") != "true" {
			continue
		}
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.String:
			f.SetString(strings.TrimSpace(f.String()))
		case f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.String:
			f.Elem().SetString(strings.TrimSpace(f.Elem().String()))
		}
	}
}

func requireJSON(c *fiber.Ctx) error {
	ct := c.Get(fiber.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != fiber.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType)
	}
	return nil
}

// Decode decodes one JSON value from body into dst. Unknown fields, trailing data and type
// mismatches are 400s that name the field.
func Decode(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.Invalid("malformed_json", "the request body is empty; a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Invalid("malformed_json", "the request body must hold exactly one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var fe *FieldDecodeError
	switch {
	case errors.As(err, &syn):
		return apperr.Invalid("malformed_json", fmt.Sprintf("the request body is not valid JSON (at byte %d)", syn.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalid("malformed_json", "the request body is not valid JSON (it ends too early)")
	case errors.As(err, &fe):
		return apperr.InvalidField("validation_failed", fe.Field, fe.Message, fe.Field+" "+fe.Message)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return apperr.Invalid("malformed_json", "the request body must be a JSON object")
		}
		msg := "must be " + jsonKind(typ.Type)
		return apperr.InvalidField("validation_failed", field, msg, field+" "+msg)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.InvalidField("unknown_field", field, "is not a known field",
			fmt.Sprintf("%s is not a field of this request; remove it", field))
	}
	// Errors returned by custom UnmarshalJSON methods carry their own words.
	return apperr.Invalid("malformed_json", "the request body could not be read: "+err.Error())
}

// FieldDecodeError is returned by custom JSON decoders (money, dates) to name the problem;
// Decode turns it into a 400 about Field.
type FieldDecodeError struct {
	Field   string
	Message string
}

func (e *FieldDecodeError) Error() string { return e.Field + " " + e.Message }

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}

// Validate runs the struct tags of dst and reports every invalid field by JSON name, with
// the field errors a caller found by hand (extra), so that one 400 lists them all.
func Validate(dst any, extra ...apperr.FieldError) error {
	err := Validator().Struct(dst)
	if err == nil && len(extra) == 0 {
		return nil
	}
	var fields []apperr.FieldError
	if err != nil {
		var ves validator.ValidationErrors
		if !errors.As(err, &ves) {
			return fmt.Errorf("validate: %w", err)
		}
		for _, fe := range ves {
			fields = append(fields, apperr.FieldError{Field: fieldPath(fe), Message: message(fe)})
		}
	}
	return apperr.InvalidFields("validation_failed", append(fields, extra...)...)
}

func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return fe.Field()
}

func message(fe validator.FieldError) string {
	isString := fe.Kind() == reflect.String
	switch fe.Tag() {
	case "required", "required_without", "notblank":
		return "is required"
	case "email":
		return "must be a valid email address"
	case "min":
		if isString {
			return "must be at least " + fe.Param() + " characters long"
		}
		return "must be at least " + fe.Param()
	case "max":
		if isString {
			return "must be at most " + fe.Param() + " characters long"
		}
		return "must be at most " + fe.Param()
	case "gt":
		return "must be greater than " + fe.Param()
	case "gte":
		return "must be greater than or equal to " + fe.Param()
	case "lte":
		return "must be less than or equal to " + fe.Param()
	case "oneof":
		return "must be one of: " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "iso4217":
		return "must be an ISO 4217 currency code in upper case, such as USD"
	case "len":
		return "must be exactly " + fe.Param() + " characters long"
	}
	return "is invalid (" + fe.Tag() + ")"
}
