package web

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/mini-crm/crm/platform/apperr"
)

// optionalState is implemented by patch.Optional[T].
type optionalState interface {
	State() (set, null bool, value any)
}

// checkOptionals validates the patch.Optional fields of the struct dst points to, the one way
// every PATCH body is checked. A field's rules are in its `patch` tag: "nonnull" refuses an
// explicit null (for values every record has), and the other rules, in the validator's own
// syntax, apply to a present value exactly as the `validate` tag of a create field does. An
// absent field is never checked.
func checkOptionals(dst any) ([]apperr.FieldError, error) {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, nil
	}
	v = v.Elem()
	t := v.Type()
	var out []apperr.FieldError
	for i := range t.NumField() {
		sf := t.Field(i)
		rules, ok := sf.Tag.Lookup("patch")
		if !ok {
			continue
		}
		o, ok := v.Field(i).Interface().(optionalState)
		if !ok {
			return nil, fmt.Errorf("web: field %s has a patch tag but is not a patch.Optional", sf.Name)
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		set, null, value := o.State()
		nonnull := false
		var valueRules []string
		for r := range strings.SplitSeq(rules, ",") {
			switch r {
			case "":
			case "nonnull":
				nonnull = true
			default:
				valueRules = append(valueRules, r)
			}
		}
		switch {
		case !set:
		case null:
			if nonnull {
				out = append(out, apperr.FieldError{Field: name, Message: "must not be null"})
			}
		case len(valueRules) > 0:
			err := Validator().Var(value, strings.Join(valueRules, ","))
			var ves validator.ValidationErrors
			if errors.As(err, &ves) {
				for _, fe := range ves {
					// A rule on the elements of a list (dive) names the element: tags[1].
					field := name
					if ns := fe.Namespace(); strings.HasPrefix(ns, "[") {
						field += ns
					}
					out = append(out, apperr.FieldError{Field: field, Message: message(fe)})
				}
			} else if err != nil {
				return nil, fmt.Errorf("validate %s: %w", name, err)
			}
		}
	}
	return out, nil
}
