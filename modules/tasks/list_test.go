package tasks_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

func TestListOrderFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.ownerDeal, e.memberDeal
	mk := func(deal int64, due any, done bool) int64 {
		tid := id(e.task(deal, map[string]any{"due_date": due}))
		if done {
			e.must(http.StatusOK, e.team.Owner, "PATCH", taskPath(tid), map[string]any{"is_done": true})
		}
		return tid
	}
	t1 := mk(a, "2030-01-20", false)
	t2 := mk(a, "2030-01-15", false)
	t3 := mk(b, nil, false)
	t4 := mk(b, "2030-01-20", false)
	t5 := mk(a, nil, true)
	t6 := mk(b, "2030-02-01", true)
	t7 := mk(a, "2030-01-16T10:00:00Z", false)
	all := []int64{t2, t7, t1, t4, t6, t3, t5}

	// Another organization's tasks never show.
	out := e.team.Outsider
	contact := e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"name": "Theirs"}}).JSON()
	foreignDeal := id(e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"contact_id": id(contact), "title": "Theirs", "amount": 1}}).JSON())
	e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/tasks", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"deal_id": foreignDeal, "title": "Theirs", "due_date": "2030-01-15"}})

	list := func(u apptest.User, query string) ([]int64, float64) {
		t.Helper()
		res := e.as(u, "GET", "/api/v1/tasks"+query, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", query, res.Status, res.Body)
		}
		conforms(t, "TaskList", res.Body)
		m := res.JSON()
		var ids []int64
		for _, it := range m["items"].([]any) {
			ids = append(ids, id(it.(map[string]any)))
		}
		return ids, m["total"].(float64)
	}
	tests := []struct {
		query string
		want  []int64
	}{
		{"", all},
		{"?only_open=false", all},
		{"?only_open=", all},
		{"?only_open=true", []int64{t2, t7, t1, t4, t3}},
		{fmt.Sprintf("?deal_id=%d", a), []int64{t2, t7, t1, t5}},
		{fmt.Sprintf("?deal_id=%d&only_open=true", b), []int64{t4, t3}},
		{"?due_before=2030-01-20", []int64{t2, t7, t1, t4}},
		{"?due_after=2030-01-20", []int64{t1, t4, t6}},
		{"?due_after=2030-01-16&due_before=2030-01-20", []int64{t7, t1, t4}},
		{"?due_after=2030-01-16&due_before=2030-01-16", []int64{t7}},
		{"?due_after=2030-01-20&due_before=2030-01-16", nil},
		// Date-times are taken by their date in the organization's time zone, here UTC:
		// 2030-01-16T10:00+05:00 is 05:00Z on the 16th.
		{"?due_before=2030-01-16T10:00:00%2B05:00", []int64{t2, t7}},
		{"?due_before=2030-01-16T01:00:00%2B05:00", []int64{t2}},
		{"?due_after=2030-01-31T23:00:00-02:00", []int64{t6}},
		{fmt.Sprintf("?deal_id=%d&only_open=true&due_after=2030-01-01", b), []int64{t4}},
		{"?due_after=2000-01-01", []int64{t2, t7, t1, t4, t6}},
		// A deal of another organization, or none at all, simply matches nothing.
		{fmt.Sprintf("?deal_id=%d", foreignDeal), nil},
		{"?deal_id=999999999", nil},
	}
	for _, tt := range tests {
		for _, role := range roles {
			got, total := list(e.team.As(role), tt.query)
			if !slices.Equal(got, tt.want) || total != float64(len(tt.want)) {
				t.Fatalf("%s as %s: %v (total %v), want %v", tt.query, role, got, total, tt.want)
			}
		}
	}

	// Pages never overlap, and total counts with the same filters.
	var paged []int64
	for page := 1; page <= 4; page++ {
		got, total := list(e.team.Member, fmt.Sprintf("?page=%d&page_size=2", page))
		if total != 7 {
			t.Fatalf("page %d: total %v", page, total)
		}
		paged = append(paged, got...)
	}
	if !slices.Equal(paged, all) {
		t.Fatalf("pages %v, want %v", paged, all)
	}
	got, total := list(e.team.Member, "?page=2&page_size=2&only_open=true")
	if !slices.Equal(got, []int64{t1, t4}) || total != 5 {
		t.Fatalf("filtered page: %v %v", got, total)
	}
	res := e.as(e.team.Member, "GET", "/api/v1/tasks?page=9&page_size=2", nil)
	if m := res.JSON(); res.Status != http.StatusOK || len(m["items"].([]any)) != 0 || m["total"] != float64(7) || m["page"] != float64(9) || m["page_size"] != float64(2) {
		t.Fatalf("past the last page: %d %s", res.Status, res.Body)
	}
}

func TestListInvalidQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		query  string
		fields []string
	}{
		{"?deal_id=0", []string{"deal_id"}},
		{"?deal_id=-1", []string{"deal_id"}},
		{"?deal_id=abc", []string{"deal_id"}},
		{"?only_open=yes", []string{"only_open"}},
		{"?only_open=1", []string{"only_open"}},
		{"?only_open=TRUE", []string{"only_open"}},
		{"?due_before=tomorrow", []string{"due_before"}},
		{"?due_before=2030-02-30", []string{"due_before"}},
		{"?due_after=2030-13-01", []string{"due_after"}},
		{"?due_after=2030-01-15T10:00", []string{"due_after"}},
		{"?page=0", []string{"page"}},
		{"?page_size=101", []string{"page_size"}},
		{"?deal_id=x&only_open=maybe&due_before=x&due_after=y", []string{"deal_id", "due_after", "due_before", "only_open"}},
	}
	for _, tt := range tests {
		res := e.as(e.team.Member, "GET", "/api/v1/tasks"+tt.query, nil)
		m := apptest.WantProblem(t, res, http.StatusBadRequest, "invalid_query")
		got := apptest.ProblemFields(m)
		// The detail names the first invalid parameter in plain words.
		if detail, _ := m["detail"].(string); len(got) == 0 || !strings.HasPrefix(detail, got[0]+" must") {
			t.Fatalf("%s: detail %q", tt.query, detail)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.fields) {
			t.Fatalf("%s: fields %v, want %v", tt.query, got, tt.fields)
		}
	}
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: "/api/v1/tasks", Token: e.team.Owner.Token}), http.StatusBadRequest, "missing_organization")
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: "/api/v1/tasks", Token: e.team.Outsider.Token, Org: e.team.OrgID}), http.StatusForbidden, "not_a_member")
}

// assignee_id, is_done and overdue filter; order_by and order choose the order, and cursors
// walk every order to its end without gaps or repeats.
func TestListFiltersByAssigneeStateAndOverdueInEveryOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.ownerDeal
	mk := func(due any, assignee int64, done bool) int64 {
		tid := id(e.task(a, map[string]any{"due_date": due, "assignee_id": assignee}))
		if done {
			e.must(http.StatusOK, e.team.Owner, "PATCH", taskPath(tid), map[string]any{"is_done": true})
		}
		return tid
	}
	own, mem := e.team.Owner.ID, e.team.Member.ID
	e.clock.Set(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
	t1 := mk("2030-01-10", own, false) // overdue once the clock moves on
	t2 := mk("2030-01-12", mem, false) // overdue
	t3 := mk("2030-01-12", mem, true)  // past but done: not overdue
	t4 := mk("2030-01-20", own, false) // today then: not overdue
	t5 := mk(nil, mem, false)
	t6 := mk("2030-02-01", own, true)
	e.clock.Set(time.Date(2030, 1, 20, 9, 0, 0, 0, time.UTC))
	// t4 is touched last, so it is the most recently updated.
	time.Sleep(1100 * time.Millisecond)
	e.must(http.StatusOK, e.team.Owner, "PATCH", taskPath(t4), map[string]any{"title": "Touched"})

	list := func(query string) ([]int64, float64) {
		t.Helper()
		res := e.as(e.team.Member, "GET", "/api/v1/tasks"+query, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", query, res.Status, res.Body)
		}
		conforms(t, "TaskList", res.Body)
		m := res.JSON()
		var ids []int64
		for _, it := range m["items"].([]any) {
			ids = append(ids, id(it.(map[string]any)))
		}
		return ids, m["total"].(float64)
	}
	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{t1, t2, t3, t4, t6, t5}},
		{fmt.Sprintf("?assignee_id=%d", mem), []int64{t2, t3, t5}},
		{fmt.Sprintf("?assignee_id=%d&is_done=false", mem), []int64{t2, t5}},
		{fmt.Sprintf("?assignee_id=%d", e.team.Outsider.ID), nil},
		{"?is_done=true", []int64{t3, t6}},
		{"?is_done=false", []int64{t1, t2, t4, t5}},
		{"?is_done=true&only_open=true", nil},
		{"?overdue=true", []int64{t1, t2}},
		{"?overdue=false", []int64{t1, t2, t3, t4, t6, t5}},
		{"?overdue=true&is_done=true", nil},
		{fmt.Sprintf("?overdue=true&assignee_id=%d", mem), []int64{t2}},
		{"?overdue=true&order=desc", []int64{t2, t1}},
		{"?order_by=due_date&order=desc", []int64{t5, t6, t4, t3, t2, t1}},
		{"?order_by=created_at", []int64{t6, t5, t4, t3, t2, t1}},
		{"?order_by=created_at&order=asc", []int64{t1, t2, t3, t4, t5, t6}},
		{"?order_by=updated_at&order=desc&is_done=false", []int64{t4, t5, t2, t1}},
		{"?order_by=updated_at&order=asc&is_done=false", []int64{t1, t2, t5, t4}},
	}
	for _, tt := range tests {
		got, total := list(tt.query)
		if !slices.Equal(got, tt.want) || total != float64(len(tt.want)) {
			t.Fatalf("%s: %v (total %v), want %v", tt.query, got, total, tt.want)
		}
	}

	// Cursors, one row a page, in every order.
	for _, q := range []string{"", "order=desc", "order_by=created_at", "order_by=created_at&order=asc",
		"order_by=updated_at", "order_by=updated_at&order=asc", "overdue=true"} {
		want, _ := list("?" + q)
		var got []int64
		next := "?page_size=1&" + q
		for range 10 {
			res := e.as(e.team.Member, "GET", "/api/v1/tasks"+next, nil)
			m := res.JSON()
			if res.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", next, res.Status, res.Body)
			}
			for _, it := range m["items"].([]any) {
				got = append(got, id(it.(map[string]any)))
			}
			c, _ := m["next_cursor"].(string)
			if c == "" {
				break
			}
			next = "?page_size=1&cursor=" + c + "&" + q
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q by cursor: %v, want %v", q, got, want)
		}
	}
	// A cursor of one order is no cursor of another.
	res := e.as(e.team.Member, "GET", "/api/v1/tasks?page_size=1&order_by=created_at", nil)
	c := res.JSON()["next_cursor"].(string)
	apptest.WantProblem(t, e.as(e.team.Member, "GET", "/api/v1/tasks?order_by=updated_at&cursor="+c, nil),
		http.StatusBadRequest, "invalid_cursor")
}

// Every invalid parameter of the new filters and orders is named in the one 400, with the
// page's.
func TestListNamesEveryInvalidParameterAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.as(e.team.Member, "GET", "/api/v1/tasks?assignee_id=x&is_done=maybe&overdue=1&order_by=title&order=up&page_size=0&deal_id=0", nil)
	got := apptest.ProblemFields(apptest.WantProblem(t, res, http.StatusBadRequest, "invalid_query"))
	slices.Sort(got)
	want := []string{"assignee_id", "deal_id", "is_done", "order", "order_by", "overdue", "page_size"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
}
