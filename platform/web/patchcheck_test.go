package web_test

import (
	"slices"
	"testing"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

type patchBody struct {
	Title patch.Optional[string]   `json:"title" trim:"true" patch:"nonnull,notblank,max=5"`
	Note  patch.Optional[string]   `json:"note" patch:"max=3"`
	Code  patch.Optional[string]   `json:"code" patch:"shortcode"`
	Count patch.Optional[int64]    `json:"count" patch:"nonnull,gt=0"`
	Tags  patch.Optional[[]string] `json:"tags" patch:"max=2,dive,max=3"`
}

func init() {
	web.RegisterTextRule("shortcode", "must be two upper-case letters", func(s string) bool {
		return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
	})
}

// A PATCH body is checked one way: absent fields never, null only against nonnull, present
// values by the same rules a create uses (registered module rules included), and every
// invalid field is reported in one answer.
func TestPatchFieldsAreCheckedByTheirTags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		body string
		bad  []string // fields reported, sorted
	}{
		{`{}`, nil},
		{`{"title":"  ok  ","note":null,"code":"AB","count":3}`, nil},
		{`{"title":null,"count":null}`, []string{"count", "title"}},
		{`{"title":"   "}`, []string{"title"}},
		{`{"title":"toolong","note":"abcd","code":"ab","count":0}`, []string{"code", "count", "note", "title"}},
		// A rule on the elements of a list names the element; one on the list, the list.
		{`{"tags":["ok","long",null]}`, []string{"tags"}},
		{`{"tags":["ok","long"]}`, []string{"tags[1]"}},
	} {
		var dst patchBody
		if err := web.Decode([]byte(tt.body), &dst); err != nil {
			t.Fatalf("%s: decode: %v", tt.body, err)
		}
		web.TrimFields(&dst)
		err := web.Validate(&dst)
		var got []string
		if ae, ok := apperr.As(err); ok {
			for _, f := range ae.Fields {
				got = append(got, f.Field)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.bad) {
			t.Errorf("%s: fields %v, want %v (%v)", tt.body, got, tt.bad, err)
		}
	}
	var dst patchBody
	_ = web.Decode([]byte(`{"title":"  ok  "}`), &dst)
	web.TrimFields(&dst)
	if dst.Title.Value != "ok" {
		t.Errorf("trim:\"true\" left %q", dst.Title.Value)
	}
	_ = web.Decode([]byte(`{"code":"ab"}`), &dst)
	if ae, ok := apperr.As(web.Validate(&dst)); !ok || len(ae.Fields) != 1 || ae.Fields[0].Message != "must be two upper-case letters" {
		t.Errorf("a registered rule reports its own message: %+v", ae)
	}
}
