package auth_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

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

// Whatever the Authorization and X-Organization-Id headers hold, the middleware answers
// 200, 400, 401 or 403, never a panic or a 5xx.
func FuzzTokenMiddleware(f *testing.F) {
	app, tokens := newApp(&testing.T{})
	good, _ := tokens.Access(1)
	for _, s := range []string{"Bearer " + good, "Bearer", "Bearer ", "bearer " + good, "Basic x", "Bearer a.b.c", "Bearer ....",
		"Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer " + good + "x", good} {
		f.Add(s, "7")
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, authz, org string) {
		req := httptest.NewRequestWithContext(context.Background(), "GET", "/tenant", nil)
		req.Header.Set("Authorization", authz)
		req.Header.Set("X-Organization-Id", org)
		res, err := app.Test(req, int(5*time.Second/time.Millisecond))
		if err != nil {
			return // the header itself was not valid HTTP; the client library refused it
		}
		res.Body.Close()
		switch res.StatusCode {
		case 200, 400, 401, 403:
		default:
			t.Fatalf("Authorization %q X-Organization-Id %q: status %d", authz, org, res.StatusCode)
		}
	})
}
