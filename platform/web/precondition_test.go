package web_test

import (
	"testing"

	"github.com/mini-crm/crm/platform/web"
)

func TestIfMatch(t *testing.T) {
	t.Parallel()
	const cur = `"abc"`
	for _, tt := range []struct {
		header string
		ok     bool
	}{
		{"", true},
		{"*", true},
		{` * `, true},
		{`"abc"`, true},
		{` "abc" `, true},
		{`"x", "abc"`, true},
		{`"x","y"`, false},
		{`"abd"`, false},
		{`abc`, false},
		{`W/"abc"`, false}, // strong comparison: a weak tag never matches
		{`"ABC"`, false},
		{`,`, false},
	} {
		if got := web.ParseIfMatch(tt.header).Matches(cur); got != tt.ok {
			t.Errorf("If-Match %q against %s: %v, want %v", tt.header, cur, got, tt.ok)
		}
	}
}
