package auth_test

import (
	"strconv"
	"testing"

	"github.com/mini-crm/crm/platform/auth"
)

// The organization id parser accepts exactly the positive decimal int64 values.
func FuzzParseOrgID(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "007", "9223372036854775807", "9223372036854775808", "1e3", " 1", "1 ", "+1", "", "abc", "１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := auth.ParseOrgID(s)
		n, perr := strconv.ParseInt(s, 10, 64)
		valid := perr == nil && n > 0 && s[0] != '+' && s[0] != '-' && len(s) <= 19 // longer inputs are refused outright
		if valid != (err == nil) || (valid && id != n) {
			t.Fatalf("ParseOrgID(%q) = %d, %v; ParseInt = %d, %v", s, id, err, n, perr)
		}
	})
}
