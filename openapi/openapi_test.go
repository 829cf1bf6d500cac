package openapi_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/mini-crm/crm/openapi"
	"github.com/mini-crm/crm/openapi/openapitest"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapitest.Parse(openapi.JSON())
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// The served JSON and the YAML source are the same document, and kin-openapi accepts it with
// examples, defaults and patterns checked.
func TestDocumentIsValid(t *testing.T) {
	t.Parallel()
	load(t)
	if _, err := openapitest.Parse(openapi.YAML()); err != nil {
		t.Fatalf("YAML source: %v", err)
	}
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(openapi.YAML(), &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(openapi.JSON(), &fromJSON); err != nil {
		t.Fatal(err)
	}
	// Round-trip the YAML value through JSON so that numbers compare alike.
	raw, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	var yamlAsJSON any
	if err := json.Unmarshal(raw, &yamlAsJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(yamlAsJSON, fromJSON) {
		t.Fatal("openapi.JSON() differs from the YAML source")
	}
	if !strings.HasPrefix(string(openapi.JSON()), "{\n  \"openapi\": \"3.0.3\",\n  \"info\"") {
		t.Fatalf("the JSON does not keep the order of the source: %.80s", openapi.JSON())
	}
}

func TestToJSONKeepsOrderAndTypes(t *testing.T) {
	t.Parallel()
	got, err := openapi.ToJSON([]byte("b: 1\na: [true, null, 1.50, '2', x]\nc: {z: 0x10}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"b":1,"a":[true,null,1.50,"2","x"],"c":{"z":16}}`
	var compact strings.Builder
	for _, line := range strings.Split(string(got), "\n") {
		compact.WriteString(strings.ReplaceAll(strings.TrimSpace(line), `": `, `":`))
	}
	if compact.String() != want {
		t.Fatalf("got %s, want %s", compact.String(), want)
	}
	if _, err := openapi.ToJSON([]byte("a: [1\n")); err == nil {
		t.Fatal("invalid YAML was accepted")
	}
}

// The rules every operation of the API follows, checked over the whole document so that a
// new operation cannot forget one.
func TestEveryOperationFollowsTheHouseRules(t *testing.T) {
	t.Parallel()
	doc := load(t)
	seenIDs := map[string]string{}
	for _, op := range openapitest.Operations(doc) {
		o := doc.Paths.Find(op.Path).GetOperation(op.Method)
		name := op.String()
		check := func(ok bool, format string, args ...any) {
			t.Helper()
			if !ok {
				t.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
			}
		}
		check(o.OperationID != "", "has no operationId")
		if prev, dup := seenIDs[o.OperationID]; dup {
			check(false, "operationId %q is also used by %s", o.OperationID, prev)
		}
		seenIDs[o.OperationID] = name
		check(o.Summary != "", "has no summary")
		check(len(o.Tags) == 1, "must have exactly one tag, has %v", o.Tags)

		secured := o.Security == nil || len(*o.Security) > 0
		public := strings.HasPrefix(op.Path, "/api/v1/auth/") || !strings.HasPrefix(op.Path, "/api/v1/") || op.Path == "/api/v1/openapi.json"
		check(secured != public, "security: want public=%v", public)
		params := allParams(doc, op)
		tenant := params["header X-Organization-Id"]
		wantTenant := slices.ContainsFunc([]string{"/contacts", "/deals", "/tasks", "/analytics", "/events", "/webhooks", "/pipelines", "/trash", "/imports"}, func(p string) bool {
			return strings.HasPrefix(op.Path, "/api/v1"+p)
		})
		check(tenant == wantTenant, "X-Organization-Id header: have %v, want %v", tenant, wantTenant)

		statuses := map[int]bool{}
		for code := range o.Responses.Map() {
			var n int
			_, err := fmt.Sscanf(code, "%d", &n)
			check(err == nil, "response %q is not a status code (no default responses: every status is listed)", code)
			statuses[n] = true
		}
		want := []int{}
		if strings.HasPrefix(op.Path, "/api/v1/") && op.Path != "/api/v1/openapi.json" {
			want = append(want, 500, 503)
		}
		if secured {
			want = append(want, 401)
		}
		if tenant {
			want = append(want, 400, 403)
		}
		if o.RequestBody != nil {
			want = append(want, 400, 413, 415)
			checkRequestBody(t, name, o.RequestBody.Value)
		}
		for _, s := range want {
			check(statuses[s], "documents no %d response", s)
		}

		for code, ref := range o.Responses.Map() {
			r := ref.Value
			check(r.Headers["X-Request-Id"] != nil, "response %s lacks the X-Request-Id header", code)
			if code == "401" {
				check(r.Headers["WWW-Authenticate"] != nil, "response 401 lacks WWW-Authenticate")
			}
			if code == "429" || code == "503" {
				check(r.Headers["Retry-After"] != nil, "response %s lacks Retry-After", code)
			}
			if code >= "400" {
				mt := r.Content.Get("application/problem+json")
				check(mt != nil && len(r.Content) == 1, "response %s is not only application/problem+json", code)
				if mt != nil {
					check(mt.Schema != nil && mt.Schema.Ref == "#/components/schemas/Problem", "response %s does not use the Problem schema", code)
				}
			}
		}
	}
}

func allParams(doc *openapi3.T, op openapitest.Operation) map[string]bool {
	out := map[string]bool{}
	item := doc.Paths.Find(op.Path)
	for _, p := range append(item.Parameters, item.GetOperation(op.Method).Parameters...) {
		out[p.Value.In+" "+p.Value.Name] = true
	}
	return out
}

// Request bodies are JSON objects that reject unknown fields (the mass-assignment guard)
// and carry an example.
func checkRequestBody(t *testing.T, name string, body *openapi3.RequestBody) {
	t.Helper()
	if !body.Required {
		t.Errorf("%s: the request body must be required", name)
	}
	// An upload route (platform/web.Upload) takes a file of its own media type instead.
	if csv := body.Content.Get("text/csv"); csv != nil && len(body.Content) == 1 {
		if csv.Example == nil {
			t.Errorf("%s: the file has no example", name)
		}
		return
	}
	if len(body.Content) != 1 || body.Content.Get("application/json") == nil {
		t.Errorf("%s: the request body must be application/json only", name)
		return
	}
	mt := body.Content.Get("application/json")
	if mt.Example == nil && len(mt.Examples) == 0 {
		t.Errorf("%s: the request body has no example", name)
	}
	walkObjects(mt.Schema.Value, func(path string, s *openapi3.Schema) {
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("%s: request object %s must have additionalProperties: false", name, path)
		}
	}, "body")
}

func walkObjects(s *openapi3.Schema, f func(string, *openapi3.Schema), path string) {
	if s == nil {
		return
	}
	if s.Type.Is("object") {
		f(path, s)
	}
	for name, p := range s.Properties {
		walkObjects(p.Value, f, path+"."+name)
	}
	if s.Items != nil {
		walkObjects(s.Items.Value, f, path+"[]")
	}
}

// Every response object, every error example and every code in the catalog agree.
func TestProblemCatalog(t *testing.T) {
	t.Parallel()
	doc := load(t)
	codes := doc.Components.Schemas["Problem"].Value.Properties["code"].Value.Enum
	if len(codes) < 40 {
		t.Fatalf("the Problem.code enum lists only %d codes", len(codes))
	}
	desc := doc.Components.Schemas["Problem"].Value.Properties["code"].Value.Description
	for _, c := range codes {
		if !strings.Contains(desc, "`"+c.(string)+"`") {
			t.Errorf("code %s is in the enum but not in the description by status", c)
		}
	}
}

// The reference page's assets are exactly those the document lists.
func TestDocumentedAssets(t *testing.T) {
	t.Parallel()
	doc := load(t)
	p := doc.Paths.Find("/docs/{asset}").Get.Parameters.GetByInAndName("path", "asset")
	var documented []string
	for _, v := range p.Schema.Value.Enum {
		documented = append(documented, v.(string))
	}
	slices.Sort(documented)
	if !slices.Equal(documented, openapi.Assets()) {
		t.Fatalf("documented assets %v, served %v", documented, openapi.Assets())
	}
}
