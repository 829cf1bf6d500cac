package deals_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// Whatever the filter and ordering parameters of the deal list hold, the answer is a 200 or
// a 400 problem naming the parameter: never a panic, never a 5xx, never SQL in the detail.
func FuzzDealListQuery(f *testing.F) {
	for _, s := range [][6]string{
		{"created_at", "desc", "new", "qualification", "1", "100"},
		{"amount", "asc", "won", "closed", "0", "0.01"},
		{"title", "ASC", "", "", "-1", "1e3"},
		{"id; DROP TABLE deals", "sideways", "new' OR '1'='1", "x", "abc", "999999999999999.99"},
		{"", "", "lost", "proposal", "", ""},
		{"updated_at", "desc", "in_progress", "negotiation", "5.555", "NaN"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, orderBy, order, status, stage, minAmount, maxAmount string) {
		q := url.Values{}
		for k, v := range map[string]string{"order_by": orderBy, "order": order, "status": status, "stage": stage,
			"min_amount": minAmount, "max_amount": maxAmount} {
			if v != "" {
				q.Set(k, v)
			}
		}
		s := *e.Server // report through this input's t, not the fuzz target's f
		s.T = t
		res := s.Do(apptest.Req{Method: "GET", Path: "/api/v1/deals?" + q.Encode(), Token: e.team.Owner.Token, Org: e.team.OrgID})
		switch res.Status {
		case 200:
		case 400:
			if res.Code() != "invalid_query" || strings.Contains(strings.ToLower(string(res.Body)), "select") {
				t.Fatalf("%s: %s", q.Encode(), res.Body)
			}
		default:
			t.Fatalf("%s: status %d %s", q.Encode(), res.Status, res.Body)
		}
	})
}
