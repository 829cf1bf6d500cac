package contacts_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

type duplicatePage struct {
	Items []struct {
		Reason   string           `json:"reason"`
		Value    string           `json:"value"`
		Count    int64            `json:"count"`
		Contacts []map[string]any `json:"contacts"`
	}
	Page       *int    `json:"page"`
	Total      *int64  `json:"total"`
	NextCursor *string `json:"next_cursor"`
}

func (e env) duplicates(u apptest.User, org int64, query string) duplicatePage {
	e.T.Helper()
	var p duplicatePage
	e.Must(http.StatusOK, apptest.Req{Method: "GET", Path: "/api/v1/contacts/duplicates" + query, Token: u.Token, Org: org}).Decode(e.T, &p)
	return p
}

// groupsOf renders a page as "reason value: ids".
func groupsOf(p duplicatePage) []string {
	var out []string
	for _, g := range p.Items {
		var ids []int64
		for _, c := range g.Contacts {
			ids = append(ids, id(c))
		}
		out = append(out, fmt.Sprintf("%s %s (%d): %v", g.Reason, g.Value, g.Count, ids))
	}
	return out
}

// Emails match trimmed and without regard to case, phones by their digits when there are at
// least seven; a contact sharing both is in two groups; emails come first, each reason by
// value; another organization's contacts never join a group, and its list is its own.
func TestDuplicatesGroupByEmailAndPhoneDigits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.team.Owner
	mk := func(name string, fields map[string]any) int64 {
		fields["name"] = name
		return id(e.contact(owner, fields))
	}
	ann1 := mk("Ann", map[string]any{"email": " Ann@Example.com ", "phone": "+1 (555) 010-0000"})
	ann2 := mk("Ann S.", map[string]any{"email": "ann@example.COM"})
	ann3 := mk("A. S.", map[string]any{"email": "ann@example.com", "phone": "15550100000"})
	bob1 := mk("Bob", map[string]any{"email": "bob@example.com", "phone": "12-34-56"})
	mk("Bob 2", map[string]any{"phone": "123456"}) // six digits: no group
	mk("Carol", map[string]any{"email": "carol@example.com"})
	zed1 := mk("Zed", map[string]any{"email": "zed@example.com"})
	zed2 := mk("Zed 2", map[string]any{"email": "ZED@example.com", "phone": "(030) 123 4567"})
	dan := mk("Dan", map[string]any{"phone": "030-1234567"})
	_ = bob1
	// The outsider's contact shares Ann's email, in another organization.
	out := e.team.Outsider
	e.Must(http.StatusCreated, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"name": "Other Ann", "email": "ann@example.com"}})

	p := e.duplicates(owner, e.team.OrgID, "")
	want := []string{
		fmt.Sprintf("email ann@example.com (3): %v", []int64{ann1, ann2, ann3}),
		fmt.Sprintf("email zed@example.com (2): %v", []int64{zed1, zed2}),
		fmt.Sprintf("phone 0301234567 (2): %v", []int64{zed2, dan}),
		fmt.Sprintf("phone 15550100000 (2): %v", []int64{ann1, ann3}),
	}
	if got := groupsOf(p); !slices.Equal(got, want) {
		t.Fatalf("groups\n%v\nwant\n%v", got, want)
	}
	if p.Total == nil || *p.Total != 4 || p.NextCursor != nil || p.Page == nil || *p.Page != 1 {
		t.Fatalf("page %+v", p)
	}
	// Contacts render as GET renders them.
	if got := e.as(owner, "GET", contactPath(ann1), nil).JSON(); asJSON(t, got) != asJSON(t, p.Items[0].Contacts[0]) {
		t.Fatalf("group contact %v, GET %v", p.Items[0].Contacts[0], got)
	}
	// Every role reads it; the outsider's organization has no duplicates.
	for _, role := range roles {
		if got := groupsOf(e.duplicates(e.team.As(role), e.team.OrgID, "")); !slices.Equal(got, want) {
			t.Errorf("%s sees %v", role, got)
		}
	}
	if q := e.duplicates(out, out.OrgID, ""); len(q.Items) != 0 || *q.Total != 0 {
		t.Fatalf("outsider sees %v", groupsOf(q))
	}
	apptest.WantProblem(t, e.Do(apptest.Req{Method: "GET", Path: "/api/v1/contacts/duplicates", Token: out.Token, Org: e.team.OrgID}),
		http.StatusForbidden, "not_a_member")

	// Pages by cursor and by number give the same groups, in order, without overlap.
	var byCursor []string
	query := "?page_size=1"
	for i := 0; ; i++ {
		page := e.duplicates(owner, e.team.OrgID, query)
		if len(page.Items) != 1 {
			t.Fatalf("page %d: %+v", i, page)
		}
		byCursor = append(byCursor, groupsOf(page)...)
		if byNumber := groupsOf(e.duplicates(owner, e.team.OrgID, fmt.Sprintf("?page_size=1&page=%d", i+1))); !slices.Equal(byNumber, groupsOf(page)) {
			t.Fatalf("page %d by number %v, by cursor %v", i+1, byNumber, groupsOf(page))
		}
		if page.NextCursor == nil {
			break
		}
		query = "?page_size=1&include_total=false&cursor=" + url.QueryEscape(*page.NextCursor)
	}
	if !slices.Equal(byCursor, want) {
		t.Fatalf("by cursor %v", byCursor)
	}
	if p := e.duplicates(owner, e.team.OrgID, "?page=3&page_size=3"); len(p.Items) != 0 || *p.Total != 4 {
		t.Fatalf("past the end %+v", p)
	}
	apptest.WantProblem(t, e.as(owner, "GET", "/api/v1/contacts/duplicates?cursor=bogus", nil), http.StatusBadRequest, "invalid_cursor")
	apptest.WantProblem(t, e.as(owner, "GET", "/api/v1/contacts/duplicates?search=ann", nil), http.StatusBadRequest, "unknown_parameter")

	// Changing an email breaks its group up; merging removes the absorbed contacts from theirs.
	e.must(http.StatusOK, owner, "PATCH", contactPath(zed1), map[string]any{"email": "zed.one@example.com"})
	e.must(http.StatusOK, owner, "POST", mergePath(ann1), map[string]any{"from": []int64{ann2, ann3}})
	want = []string{fmt.Sprintf("phone 0301234567 (2): %v", []int64{zed2, dan})}
	if got := groupsOf(e.duplicates(owner, e.team.OrgID, "")); !slices.Equal(got, want) {
		t.Fatalf("after the changes %v, want %v", got, want)
	}
}

// The groups are read through the expression indexes, under row-level security as the
// service runs: the plan walks contacts_email_key_idx and contacts_phone_digits_idx.
func TestDuplicatesWalkTheirIndexes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sql := e.sqlConn()
	ctx := t.Context()
	if _, err := sql.Exec(ctx, `INSERT INTO contacts (organization_id, owner_id, name, email, phone)
		SELECT $1, $2, 'C' || i, 'c' || (i % 5000) || '@example.com', '555' || lpad((i % 7000)::text, 5, '0')
		FROM generate_series(1, 20000) AS i`, e.team.OrgID, e.team.Owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sql.Exec(ctx, `ANALYZE contacts`); err != nil {
		t.Fatal(err)
	}
	tx, err := sql.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SET LOCAL ROLE crm_app`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('app.organization_id', $1, true)`, fmt.Sprint(e.team.OrgID)); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]string{
		"contacts_email_key_idx": `SELECT contacts_email_key(email), count(*), (array_agg(id ORDER BY id))[1:50] FROM contacts
			WHERE organization_id = $1 AND email IS NOT NULL AND contacts_email_key(email) > 'c2'
			GROUP BY contacts_email_key(email) HAVING count(*) > 1 ORDER BY contacts_email_key(email) LIMIT 21`,
		"contacts_phone_digits_idx": `SELECT contacts_phone_digits(phone), count(*), (array_agg(id ORDER BY id))[1:50] FROM contacts WHERE organization_id = $1
			AND length(contacts_phone_digits(phone)) >= 7
			GROUP BY contacts_phone_digits(phone) HAVING count(*) > 1 ORDER BY contacts_phone_digits(phone) LIMIT 21`,
	} {
		rows, err := tx.Query(ctx, "EXPLAIN "+q, e.team.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan += line + "\n"
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		if !regexpContains(plan, "Index (Only )?Scan using "+name) || regexpContains(plan, "Sort") {
			t.Errorf("%s: plan does not walk the index in order:\n%s", name, plan)
		}
	}
}

func regexpContains(s, pattern string) bool { return regexp.MustCompile(pattern).MatchString(s) }
