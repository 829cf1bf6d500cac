package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

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

// textRules are the rules modules add with RegisterTextRule, by tag, with their messages.
var textRules sync.Map // tag → message

// RegisterTextRule adds a validation tag for text fields that a module's format needs (a
// phone number, say): ok decides, and message follows the field name in the 400. Create and
// PATCH bodies then use the tag like any other, so the rule lives in one place.
func RegisterTextRule(tag, message string, ok func(string) bool) {
	if _, dup := textRules.LoadOrStore(tag, message); dup {
		return
	}
	if err := Validator().RegisterValidation(tag, func(fl validator.FieldLevel) bool { return ok(fl.Field().String()) }); err != nil {
		panic(fmt.Sprintf("web: register rule %q: %v", tag, err))
	}
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
	TrimFields(dst)
	return Validate(dst)
}

// TrimFields trims surrounding white space from the string, *string and
// patch.Optional[string] fields of the struct dst points to that are tagged trim:"true",
// before they are validated.
func TrimFields(dst any) {
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
		case f.Kind() == reflect.Struct && f.CanInterface():
			if o, ok := f.Interface().(optionalState); ok {
				if set, null, _ := o.State(); set && !null {
					if val := f.FieldByName("Value"); val.Kind() == reflect.String {
						val.SetString(strings.TrimSpace(val.String()))
					}
				}
			}
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
// mismatches are 400s that name the field. Field names must match their json tags exactly
// (encoding/json alone matches them regardless of case): any other spelling is an unknown
// field. Every string, at any depth, must be text PostgreSQL can store: the NUL character
// or invalid UTF-8 (which encoding/json would silently replace with U+FFFD) is a 400 naming
// the field.
func Decode(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.Invalid("malformed_json", "the request body is empty; a JSON object is required")
	}
	// Misspelled names are reported before decoding, which would otherwise take the value
	// under the name it resembles and perhaps complain about that value instead.
	misnamed, badText := scanBody(body, reflect.TypeOf(dst))
	if misnamed != nil {
		return misnamed
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Invalid("malformed_json", "the request body must hold exactly one JSON value")
	}
	if badText != nil {
		return badText
	}
	if !utf8.Valid(body) {
		// Invalid bytes outside strings are syntax errors, so the scan has found them; this
		// only keeps the promise should it ever miss one.
		return apperr.Invalid("validation_failed", "the request body "+textInvalid)
	}
	return nil
}

// unknownField is the 400 about a field name the request does not have.
func unknownField(field, detail string) error {
	return apperr.InvalidField("unknown_field", field, "is not a known field", detail)
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
		return unknownField(field, fmt.Sprintf("%s is not a field of this request; remove it", field))
	}
	// Errors returned by custom UnmarshalJSON methods carry their own words.
	return apperr.Invalid("malformed_json", "the request body could not be read: "+err.Error())
}

// FieldDecodeError is returned by custom JSON decoders (money, dates) to name the problem;
// Decode turns it into a 400 about Field.
type FieldDecodeError = apperr.FieldDecodeError

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
	optional, oerr := checkOptionals(dst)
	if oerr != nil {
		return oerr
	}
	extra = append(optional, extra...)
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
	if m, ok := textRules.Load(fe.Tag()); ok {
		return m.(string)
	}
	return "is invalid (" + fe.Tag() + ")"
}

// Messages about text PostgreSQL cannot store.
const (
	textHasNUL  = "must not contain the NUL character (\\u0000)"
	textInvalid = "must be valid UTF-8 text"
)

// textProblem says what makes s text PostgreSQL cannot store, or "" when it can.
func textProblem(s []byte) string {
	switch {
	case bytes.IndexByte(s, 0) >= 0:
		return textHasNUL
	case !utf8.Valid(s):
		return textInvalid
	}
	return ""
}

// printableName renders a field or parameter name for an error: invalid UTF-8 as U+FFFD and
// the NUL character as the JSON escape a client would have written.
func printableName(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", `\u0000`)
}

// maxScanDepth bounds the nesting the scan follows; encoding/json refuses deeper documents.
const maxScanDepth = 10000

// bodyScan walks the tokens of a JSON document along the Go type it is decoded into.
type bodyScan struct {
	dec      *json.Decoder
	body     []byte
	misnamed error // the first field name that differs from its json tag only by case
	badText  error // the first string PostgreSQL cannot store
}

// scanBody walks body alongside t and returns the first misspelled field name and the
// first string that is not storable text. A syntax error ends the walk quietly: decoding
// reports it.
func scanBody(body []byte, t reflect.Type) (misnamed, badText error) {
	s := &bodyScan{dec: json.NewDecoder(bytes.NewReader(body)), body: body}
	s.dec.UseNumber()
	s.value(t, "", 0)
	return s.misnamed, s.badText
}

// token returns the next token and the bytes it was read from (with the separators before
// it, which are ASCII).
func (s *bodyScan) token() (json.Token, []byte, bool) {
	start := s.dec.InputOffset()
	tok, err := s.dec.Token()
	if err != nil {
		return nil, nil, false
	}
	return tok, s.body[start:s.dec.InputOffset()], true
}

// value walks one JSON value decoded into t (nil: free JSON) at path; false ends the walk.
func (s *bodyScan) value(t reflect.Type, path string, depth int) bool {
	if depth > maxScanDepth {
		return false
	}
	tok, raw, ok := s.token()
	if !ok {
		return false
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return s.object(t, path, depth+1)
		case '[':
			return s.array(t, path, depth+1)
		}
		return false
	case string:
		s.text(path, v, raw)
	}
	return true
}

func (s *bodyScan) object(t reflect.Type, path string, depth int) bool {
	sh := shapeOf(t)
	for s.dec.More() {
		tok, raw, ok := s.token()
		if !ok {
			return false
		}
		key, ok := tok.(string)
		if !ok {
			return false
		}
		field := joinPath(path, key)
		s.text(field, key, raw)
		var ft reflect.Type
		switch sh.kind {
		case shapeStruct:
			if f, ok := sh.fields[key]; ok {
				ft = f
				break
			}
			if name, ok := sh.foldedName(key); ok {
				// encoding/json would take the value as that field.
				field := printableName(field)
				s.misnamed = unknownField(field, fmt.Sprintf(
					"%s is not a field of this request (field names are case-sensitive: %s is)", field, joinPath(path, name)))
				return false
			}
		case shapeMap, shapeSlice:
			ft = sh.elem
		}
		if !s.value(ft, field, depth) {
			return false
		}
	}
	_, _, ok := s.token() // }
	return ok
}

func (s *bodyScan) array(t reflect.Type, path string, depth int) bool {
	sh := shapeOf(t)
	var elem reflect.Type
	if sh.kind == shapeSlice {
		elem = sh.elem
	}
	for i := 0; s.dec.More(); i++ {
		if !s.value(elem, path+"["+strconv.Itoa(i)+"]", depth) {
			return false
		}
	}
	_, _, ok := s.token() // ]
	return ok
}

// text checks a decoded string and the JSON it was read from.
func (s *bodyScan) text(path, decoded string, raw []byte) {
	if s.badText != nil {
		return
	}
	msg := textProblem([]byte(decoded))
	if msg == "" && (!utf8.Valid(raw) || hasLoneSurrogate(raw)) {
		// encoding/json decoded invalid UTF-8, or a \u escape of half a UTF-16 pair, as U+FFFD.
		msg = textInvalid
	}
	if msg == "" {
		return
	}
	if path == "" {
		path = "body"
	}
	path = printableName(path)
	s.badText = apperr.InvalidField("validation_failed", path, msg, path+" "+msg)
}

// hasLoneSurrogate reports whether the JSON string raw holds a \u escape of a UTF-16
// surrogate that is not half of a high-low pair; such an escape stands for no character.
func hasLoneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue // a two-character escape such as \\ or \n
		}
		r, ok := hex4(raw[i+1:])
		if !ok {
			return false // not valid JSON; decoding reports it
		}
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			if i+2 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return true
			}
			low, ok := hex4(raw[i+3:])
			if !ok || low < 0xDC00 || low > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads the four hexadecimal digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	return rune(n), err == nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

type shapeKind int

const (
	shapeFree   shapeKind = iota // any JSON: free names, or a type that decodes itself
	shapeStruct                  // names are the struct's JSON fields
	shapeMap                     // free names, values of elem
	shapeSlice                   // items of elem
)

// shape is what the scan needs to know of the Go type a JSON value is decoded into.
type shape struct {
	kind   shapeKind
	fields map[string]reflect.Type // shapeStruct: JSON name → field type
	elem   reflect.Type            // shapeMap, shapeSlice
}

// foldedName returns the field name that equals key but for case, as encoding/json matches
// names; the smallest such name when there are several.
func (sh shape) foldedName(key string) (string, bool) {
	var best string
	for name := range sh.fields {
		if strings.EqualFold(name, key) && (best == "" || name < best) {
			best = name
		}
	}
	return best, best != ""
}

// optionalValue is implemented by *patch.Optional[T]: the scan sees through it to T.
type optionalValue interface {
	ValueType() reflect.Type
}

var (
	shapes            sync.Map // reflect.Type → shape
	unmarshalerType   = reflect.TypeFor[json.Unmarshaler]()
	optionalValueType = reflect.TypeFor[optionalValue]()
)

func shapeOf(t reflect.Type) shape {
	if t == nil {
		return shape{}
	}
	if sh, ok := shapes.Load(t); ok {
		return sh.(shape)
	}
	sh := newShape(t)
	shapes.Store(t, sh)
	return sh
}

func newShape(t reflect.Type) shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(optionalValueType) {
		return shapeOf(reflect.New(t).Interface().(optionalValue).ValueType())
	}
	if t.Implements(unmarshalerType) || pt.Implements(unmarshalerType) {
		return shape{}
	}
	switch t.Kind() {
	case reflect.Struct:
		return shape{kind: shapeStruct, fields: jsonFields(t)}
	case reflect.Map:
		return shape{kind: shapeMap, elem: t.Elem()}
	case reflect.Slice, reflect.Array:
		return shape{kind: shapeSlice, elem: t.Elem()}
	}
	return shape{}
}

// jsonFields returns the fields encoding/json decodes into a struct, by JSON name, with its
// rules: exported fields, named by their tag or else their Go name, "-" skipped, fields of
// untagged embedded structs promoted, the shallowest of a name winning, a tagged one among
// equals, and names still ambiguous dropped.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	type candidate struct {
		typ    reflect.Type
		depth  int
		tagged bool
		count  int
	}
	found := map[string]*candidate{}
	var walk func(t reflect.Type, depth int, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, depth int, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if sf.Anonymous && name == "" {
				// An untagged embedded struct, exported or not, lends its fields.
				et := sf.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					walk(et, depth+1, seen)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			tagged := name != ""
			if !tagged {
				name = sf.Name
			}
			c := found[name]
			switch {
			case c == nil || depth < c.depth || (depth == c.depth && tagged && !c.tagged):
				found[name] = &candidate{typ: sf.Type, depth: depth, tagged: tagged, count: 1}
			case depth == c.depth && tagged == c.tagged:
				c.count++
			}
		}
	}
	walk(t, 0, map[reflect.Type]bool{})
	fields := make(map[string]reflect.Type, len(found))
	for name, c := range found {
		if c.count == 1 {
			fields[name] = c.typ
		}
	}
	return fields
}
