package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

type inputItem struct {
	Label string `json:"label"`
}

type inputBase struct {
	Owner string `json:"owner"`
}

type inputBody struct {
	inputBase
	Name     string                    `json:"name"`
	Note     *string                   `json:"note"`
	Untagged string                    // its JSON name is Untagged
	Items    []inputItem               `json:"items"`
	Meta     map[string]string         `json:"meta"`
	Extra    map[string]inputItem      `json:"extra"`
	Optional patch.Optional[inputItem] `json:"optional"`
	Payload  json.RawMessage           `json:"payload"`
	Any      any                       `json:"any"`
	Skipped  string                    `json:"-"`
}

const (
	nulMessage  = "must not contain the NUL character (\\u0000)"
	utf8Message = "must be valid UTF-8 text"
)

// PostgreSQL stores neither the NUL character nor invalid UTF-8 in text, so a body holding
// either, in any string at any depth, is a 400 naming the field, before it gets that far.
// encoding/json would silently turn invalid UTF-8 (and lone UTF-16 surrogates) into U+FFFD;
// such a body is refused as well rather than stored altered.
func TestDecodeRefusesTextPostgreSQLCannotStore(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, field, message string
	}{
		{"NUL in a field", `{"name":"a\u0000b"}`, "name", nulMessage},
		{"NUL only", `{"name":"\u0000"}`, "name", nulMessage},
		{"NUL in a pointer field", `{"note":"x\u0000"}`, "note", nulMessage},
		{"NUL in a promoted field", `{"owner":"\u0000"}`, "owner", nulMessage},
		{"NUL in an untagged field", `{"Untagged":"\u0000"}`, "Untagged", nulMessage},
		{"NUL in an array item", `{"items":[{"label":"ok"},{"label":"\u0000"}]}`, "items[1].label", nulMessage},
		{"NUL in a map value", `{"meta":{"k":"\u0000"}}`, "meta.k", nulMessage},
		{"NUL in a map key", `{"meta":{"a\u0000":"v"}}`, `meta.a\u0000`, nulMessage},
		{"NUL in an optional object", `{"optional":{"label":"\u0000"}}`, "optional.label", nulMessage},
		{"NUL in raw JSON", `{"payload":{"text":"hi\u0000"}}`, "payload.text", nulMessage},
		{"NUL deep in any", `{"any":[1,{"x":["\u0000"]}]}`, "any[1].x[0]", nulMessage},
		{"invalid UTF-8 in a field", "{\"name\":\"a\xffb\"}", "name", utf8Message},
		{"truncated UTF-8", "{\"name\":\"caf\xc3\"}", "name", utf8Message},
		{"UTF-8 encoded surrogate", "{\"name\":\"\xed\xa0\x80\"}", "name", utf8Message},
		{"overlong UTF-8", "{\"name\":\"\xc0\xaf\"}", "name", utf8Message},
		{"invalid UTF-8 in raw JSON", "{\"payload\":{\"text\":\"\xff\"}}", "payload.text", utf8Message},
		{"invalid UTF-8 in a map key", "{\"meta\":{\"\xff\":\"v\"}}", "meta.\uFFFD", utf8Message},
		{"lone high surrogate escape", `{"name":"\ud800"}`, "name", utf8Message},
		{"lone low surrogate escape", `{"name":"a\uDC00b"}`, "name", utf8Message},
		{"high surrogate then a letter", `{"name":"\ud83dx"}`, "name", utf8Message},
		{"two high surrogates", `{"name":"\ud83d\ud83d"}`, "name", utf8Message},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var dst inputBody
			p := problemOf(t, web.Decode([]byte(tc.body), &dst))
			if p.Status != http.StatusBadRequest || p.Code != "validation_failed" || len(p.Errors) != 1 ||
				p.Errors[0].Field != tc.field || p.Errors[0].Message != tc.message || p.Detail != tc.field+" "+tc.message {
				t.Fatalf("%s: %+v, want validation_failed about %q: %s", tc.body, p, tc.field, tc.message)
			}
		})
	}
}

// Text that merely looks suspicious is stored as sent.
func TestDecodeKeepsStorableText(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"name":"caf\u00e9 \ud83d\ude00"}`: "café 😀",
		`{"name":"a\\u0000b"}`:              `a\u0000b`,
		`{"name":"\ufffd"}`:                 "\uFFFD",
		"{\"name\":\"\xef\xbf\xbd é\"}":     "\uFFFD é",
		`{"name":"\\\ud83d\ude00"}`:         `\😀`,
	} {
		var dst inputBody
		if err := web.Decode([]byte(body), &dst); err != nil || dst.Name != want {
			t.Errorf("%s: %q, %v; want %q", body, dst.Name, err, want)
		}
	}
}

// Field names match their json tags exactly: encoding/json alone would take "NAME" for
// "name", which lets a client send fields under names the API does not have. Names of map
// keys and of free JSON stay as sent.
func TestDecodeFieldNamesAreCaseSensitive(t *testing.T) {
	t.Parallel()
	for body, field := range map[string]string{
		`{"NAME":"a"}`:                            "NAME",
		`{"Name":"a"}`:                            "Name",
		`{"name":"a","nAmE":"b"}`:                 "nAmE",
		`{"OWNER":"x"}`:                           "OWNER",
		`{"untagged":"x"}`:                        "untagged",
		`{"items":[{"label":"a"},{"Label":"b"}]}`: "items[1].Label",
		`{"extra":{"k":{"LABEL":"x"}}}`:           "extra.k.LABEL",
		`{"optional":{"Label":"x"}}`:              "optional.Label",
		`{"Name":5}`:                              "Name",
		`{"meta":{"a":"b"},"Meta":{}}`:            "Meta",
	} {
		var dst inputBody
		p := problemOf(t, web.Decode([]byte(body), &dst))
		if p.Status != http.StatusBadRequest || p.Code != "unknown_field" || len(p.Errors) != 1 ||
			p.Errors[0].Field != field || p.Errors[0].Message != "is not a known field" || !strings.HasPrefix(p.Detail, field+" ") {
			t.Errorf("%s: %+v, want unknown_field %q", body, p, field)
		}
	}

	var dst inputBody
	body := `{"owner":"o","name":"n","Untagged":"u","items":[{"label":"l"}],"meta":{"KEY":"v"},
		"extra":{"K":{"label":"x"}},"optional":{"label":"y"},"payload":{"TEXT":1},"any":{"ANY":[{"X":1}]}}`
	if err := web.Decode([]byte(body), &dst); err != nil {
		t.Fatalf("exact names: %v", err)
	}
	if dst.Owner != "o" || dst.Name != "n" || dst.Untagged != "u" || dst.Items[0].Label != "l" || dst.Meta["KEY"] != "v" ||
		dst.Extra["K"].Label != "x" || dst.Optional.Value.Label != "y" || string(dst.Payload) != `{"TEXT":1}` {
		t.Fatalf("decoded %+v", dst)
	}
	// A field excluded with "-" is unknown under any spelling, as before.
	for _, body := range []string{`{"Skipped":"x"}`, `{"-":"x"}`} {
		p := problemOf(t, web.Decode([]byte(body), &dst))
		if p.Code != "unknown_field" {
			t.Errorf("%s: %+v", body, p)
		}
	}
}

// Over HTTP, Bind gives the same answers.
func TestBindRefusesHostileBodies(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	for _, tc := range []struct{ body, code, field string }{
		{`{"name":"a\u0000b"}`, "validation_failed", "name"},
		{"{\"name\":\"\xff\"}", "validation_failed", "name"},
		{`{"NAME":"ab"}`, "unknown_field", "NAME"},
		{`{"name":"ab","Count":1}`, "unknown_field", "Count"},
	} {
		res, p := do(t, app, "POST", "/things", "application/json", tc.body)
		if res.StatusCode != 400 || p.Code != tc.code || len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
			t.Errorf("%q: %d %+v, want %s about %s", tc.body, res.StatusCode, p, tc.code, tc.field)
		}
	}
}

// Every query parameter of every request, once URL-decoded, must be text PostgreSQL can
// store: the NUL character or invalid UTF-8 is a 400 invalid_query naming the parameter,
// before any handler reads it.
func TestQueryParametersMustBeText(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	var reached bool
	var got string
	app.Get("/search", func(c *fiber.Ctx) error {
		reached, got = true, c.Query("search")
		return c.SendStatus(http.StatusNoContent)
	})
	for _, tc := range []struct{ query, field, message string }{
		{"search=%00", "search", nulMessage},
		{"search=a%00b", "search", nulMessage},
		{"search=%ff", "search", utf8Message},
		{"search=%C3", "search", utf8Message},
		{"search=%ED%A0%80", "search", utf8Message},
		{"search=%C0%AF", "search", utf8Message},
		{"search=ok&page=%00", "page", nulMessage},
		{"search=ok&status=new&status=%ff", "status", utf8Message},
		{"unread=%00", "unread", nulMessage},
		{"a%00b=1", `a\u0000b`, "is not a valid parameter name: " + nulMessage},
		{"%ff=1", "\uFFFD", "is not a valid parameter name: " + utf8Message},
	} {
		reached = false
		res, p := do(t, app, "GET", "/search?"+tc.query, "", "")
		if res.StatusCode != 400 || p.Code != "invalid_query" || len(p.Errors) != 1 || p.Errors[0].Field != tc.field ||
			p.Errors[0].Message != tc.message || p.Detail != tc.field+" "+tc.message || reached {
			t.Errorf("?%s: %d %+v (handler reached: %v), want invalid_query about %q: %s", tc.query, res.StatusCode, p, reached, tc.field, tc.message)
		}
	}
	// The list handlers of the platform are guarded too.
	res, p := do(t, app, "GET", "/things?cursor=%00", "", "")
	if res.StatusCode != 400 || p.Code != "invalid_query" || len(p.Errors) != 1 || p.Errors[0].Field != "cursor" {
		t.Errorf("cursor: %d %+v", res.StatusCode, p)
	}
	for query, want := range map[string]string{
		"search=caf%C3%A9":    "café",
		"search=%F0%9F%98%80": "😀",
		"search=a+b":          "a b",
		"search=%EF%BF%BD":    "\uFFFD",
		"search=%5Cu0000":     `\u0000`,
		"search=":             "",
		"search=ok&flag":      "ok",
	} {
		got = "unset"
		res, _ := do(t, app, "GET", "/search?"+query, "", "")
		if res.StatusCode != http.StatusNoContent || got != want {
			t.Errorf("?%s: %d %q, want %q", query, res.StatusCode, got, want)
		}
	}
}
