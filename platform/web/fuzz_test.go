package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/web"
)

type fuzzBody struct {
	Name   string            `json:"name" trim:"true" validate:"required,notblank,max=200"`
	Email  *string           `json:"email" validate:"omitnil,email,max=254"`
	Count  int               `json:"count" validate:"gte=0,lte=100"`
	Tags   []string          `json:"tags" validate:"max=5,dive,max=20"`
	Nested *struct{ A int }  `json:"nested"`
	Meta   map[string]string `json:"meta"`
}

// Decoding and validating any body either succeeds or fails with a 400-class application
// error; it never panics and never yields an internal error.
func FuzzDecodeAndValidate(f *testing.F) {
	for _, seed := range []string{
		`{"name":"a"}`, `{"name":" "}`, `{"name":"a","email":"x@y.z","count":3,"tags":["a"]}`,
		`{"name":1}`, `{"unknown":true}`, `[]`, `null`, `"x"`, `{"name":"a"}{}`, `{`, ``, `{"nested":{"A":"x"}}`,
		`{"tags":[1,2]}`, `{"count":1e400}`, `{"name":"\u0000"}`, `{"meta":{"a":1}}`, `{"email":null,"name":"n"}`,
		`{"NAME":"a"}`, `{"nested":{"a":1}}`, "{\"name\":\"\xff\"}", `{"name":"\ud800"}`, `{"tags":["\ud83d\ude00"]}`,
		`{"meta":{"K\u0000":"v"}}`, `{"name":"\\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var dst fuzzBody
		err := web.Decode(body, &dst)
		if err == nil {
			checkStorable(t, body, &dst)
			err = web.Validate(&dst)
		}
		if err == nil {
			return
		}
		ae, ok := apperr.As(err)
		if !ok || ae.Kind != apperr.KindInvalid {
			t.Fatalf("body %q: %v is not a 400", body, err)
		}
	})
}

// checkStorable fails when a decoded body holds text PostgreSQL cannot store, or text
// encoding/json altered (U+FFFD where the body has none).
func checkStorable(t *testing.T, body []byte, dst *fuzzBody) {
	t.Helper()
	texts := append([]string{dst.Name}, dst.Tags...)
	if dst.Email != nil {
		texts = append(texts, *dst.Email)
	}
	for k, v := range dst.Meta {
		texts = append(texts, k, v)
	}
	noneSent := !bytes.Contains(body, []byte("\uFFFD")) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`))
	for _, s := range texts {
		if strings.ContainsRune(s, 0) || !utf8.ValidString(s) || (noneSent && strings.ContainsRune(s, utf8.RuneError)) {
			t.Fatalf("body %q decoded with text %q", body, s)
		}
	}
}

var fuzzApp = func() *fiber.App {
	app := web.NewApp(web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	app.Get("/list", func(c *fiber.Ctx) error {
		p, err := web.PageFrom(c)
		if err != nil {
			return err
		}
		if _, err := web.QueryInt64(c, "owner_id"); err != nil {
			return err
		}
		return c.JSON(web.NewList([]int{}, p, nil, nil))
	})
	return app
}()

// Any page, page_size and id query parameters give 200 or 400, never a panic or a 5xx.
func FuzzPagination(f *testing.F) {
	for _, s := range [][3]string{{"1", "20", "5"}, {"0", "0", "0"}, {"-1", "101", "x"}, {"9999999999999999999", "1e3", " 1"}, {"", "", ""}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, page, size, owner string) {
		q := url.Values{"page": {page}, "page_size": {size}, "owner_id": {owner}}
		req := httptest.NewRequestWithContext(context.Background(), "GET", "/list?"+q.Encode(), nil)
		res, err := fuzzApp.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 && res.StatusCode != 400 {
			t.Fatalf("page=%q page_size=%q owner_id=%q: status %d", page, size, owner, res.StatusCode)
		}
		if res.StatusCode == 400 && !strings.HasPrefix(res.Header.Get("Content-Type"), web.ProblemContentType) {
			t.Fatalf("400 without problem+json")
		}
	})
}
