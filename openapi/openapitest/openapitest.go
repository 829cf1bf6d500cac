// Package openapitest loads the OpenAPI document with kin-openapi for tests: the document's
// own validation, the route coverage test and the e2e runner. It is imported by tests only,
// so kin-openapi is not linked into the service binary.
package openapitest

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Parse loads and validates a document (JSON or YAML) with every check kin-openapi has:
// examples, defaults and patterns are validated against their schemas too.
func Parse(data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	ctx := context.Background()
	if err := doc.Validate(ctx,
		openapi3.EnableExamplesValidation(),
		openapi3.EnableSchemaDefaultsValidation(),
		openapi3.EnableSchemaPatternValidation(),
		openapi3.ProhibitExtensionsWithRef(),
	); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	// Formats kin-openapi leaves unchecked unless told.
	doc.SetStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	return doc, nil
}

// Operation is one method on one path template of the document, e.g. "GET /api/v1/deals/{id}".
type Operation struct {
	Method string
	Path   string
}

func (o Operation) String() string { return o.Method + " " + o.Path }

// Operations lists every operation of doc, sorted by path then method.
func Operations(doc *openapi3.T) []Operation {
	var out []Operation
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, Operation{Method: strings.ToUpper(method), Path: path})
		}
	}
	slices.SortFunc(out, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

var (
	fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	docParam   = regexp.MustCompile(`\{[^}]+\}`)
)

// FromFiber turns a fiber route path ("/deals/:id") into an OpenAPI path template
// ("/deals/{id}"). Optional parameters and wildcards have no OpenAPI equivalent: ok is false.
func FromFiber(path string) (template string, ok bool) {
	if strings.ContainsAny(path, "*+?") {
		return path, false
	}
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return fiberParam.ReplaceAllString(path, "{$1}"), true
}

// Shape replaces every parameter of a path template by "{}", so that templates that differ
// only in parameter names compare equal ("/deals/{id}" and "/deals/{deal_id}").
func Shape(template string) string { return docParam.ReplaceAllString(template, "{}") }

// QueryParams lists the names of the query parameters doc documents for op, those of its
// path item included.
func QueryParams(doc *openapi3.T, op Operation) []string {
	item := doc.Paths.Value(op.Path)
	if item == nil {
		return nil
	}
	params := slices.Clone(item.Parameters)
	if o := item.GetOperation(op.Method); o != nil {
		params = append(params, o.Parameters...)
	}
	var out []string
	for _, p := range params {
		if p.Value != nil && p.Value.In == openapi3.ParameterInQuery && !slices.Contains(out, p.Value.Name) {
			out = append(out, p.Value.Name)
		}
	}
	return out
}
