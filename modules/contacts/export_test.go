package contacts_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/platform/export"
)

const exportPath = "/api/v1/contacts/export"

// orderedFields returns the members of a JSON object in the order they are rendered, each
// value as raw JSON.
func orderedFields(t *testing.T, body []byte) ([]string, map[string]json.RawMessage) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", body)
	}
	var names []string
	values := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		values[tok.(string)] = v
	}
	return names, values
}

// wantCell is the CSV cell the contract gives a JSON value, as encoding/csv reads it back:
// null is empty, a list of texts is joined by ";", a text is guarded against formulas, and
// its line breaks come back as LF.
func wantCell(t *testing.T, v json.RawMessage) string {
	t.Helper()
	var s string
	switch v[0] {
	case 'n':
		return ""
	case '"':
		_ = json.Unmarshal(v, &s)
	case '[':
		var items []string
		if err := json.Unmarshal(v, &items); err != nil {
			t.Fatalf("not a list of texts: %s", v)
		}
		s = strings.Join(items, ";")
	default:
		s = string(v)
	}
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// tricky are contacts whose text needs quoting, escaping or the formula guard in CSV.
var tricky = []map[string]any{
	{"name": `Ann "Nan" Lee, Jr.`, "email": "ann@example.com", "company": "Acme, Inc.", "notes": "line one\nline two, \"quoted\"\n",
		"tags": []string{"VIP", "lead", "north; south"}},
	{"name": "=HYPERLINK(\"http://evil.example\")", "phone": "+1 555 0100", "notes": "@SUM(A1:A2)", "tags": []string{"-minus", "+plus"}},
	{"name": "Zoë Ångström 日本語 🚀", "job_title": "Directrice générale", "notes": "windows\r\nline\rand a lone CR"},
	{"name": "-5 bottles", "notes": "\tindented with a tab", "company": "'quoted already"},
	{"name": "Plain", "email": "plain@example.com"},
}

// The CSV export, read back with encoding/csv, has the GET rendering's fields as columns in
// its order and, for every contact, every cell the contract derives from the API's JSON.
// Every line ends with CRLF.
func TestCSVExportEqualsTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []int64
	for _, c := range tricky {
		ids = append(ids, id(e.contact(e.team.Owner, c)))
	}
	res := e.as(e.team.Member, "GET", exportPath, nil) // any role exports; CSV is the default
	if res.Status != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="contacts.csv"` {
		t.Fatalf("%d %v %s", res.Status, res.Header, res.Body)
	}
	for i, b := range res.Body {
		if b == '\n' && (i == 0 || res.Body[i-1] != '\r') {
			t.Fatalf("a line break that is not CRLF at byte %d: %q", i, res.Body)
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatalf("read back: %v\n%s", err, res.Body)
	}
	if len(rows) != len(ids)+1 {
		t.Fatalf("%d rows, want a header and %d contacts:\n%s", len(rows), len(ids), res.Body)
	}
	for i, cid := range ids {
		got := e.as(e.team.Owner, "GET", contactPath(cid), nil)
		names, values := orderedFields(t, got.Body)
		if !slices.Equal(rows[0], names) {
			t.Fatalf("header %v, want the fields of GET in their order %v", rows[0], names)
		}
		row := rows[i+1]
		for j, name := range names {
			if want := wantCell(t, values[name]); row[j] != want {
				t.Errorf("contact %d, %s: cell %q, want %q (JSON %s)", cid, name, row[j], want, values[name])
			}
			if name == "name" || name == "notes" {
				// What the import does with the cell gives the text back (line breaks aside).
				var s string
				_ = json.Unmarshal(values[name], &s)
				if u := export.Unguard(row[j]); u != strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n") && values[name][0] != 'n' {
					t.Errorf("contact %d, %s: unguarded %q, want %q", cid, name, u, s)
				}
			}
		}
	}
}

// Each JSON line is byte for byte the body of GET /contacts/{id}; ids ascend.
func TestNDJSONExportLinesAreTheGETRenderings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []int64
	for _, c := range tricky {
		ids = append(ids, id(e.contact(e.team.Owner, c)))
	}
	for _, req := range []apptest.Req{
		{Path: exportPath + "?format=ndjson"},
		{Path: exportPath, Headers: map[string]string{"Accept": "application/x-ndjson"}},
		{Path: exportPath + "?format=ndjson", Headers: map[string]string{"Accept": "text/csv"}}, // format wins
	} {
		req.Method, req.Token, req.Org = "GET", e.team.Manager.Token, e.team.OrgID
		res := e.Do(req)
		if res.Status != 200 || res.Header.Get("Content-Type") != "application/x-ndjson; charset=utf-8" {
			t.Fatalf("%s %v: %d %v", req.Path, req.Headers, res.Status, res.Header)
		}
		lines := strings.Split(strings.TrimSuffix(string(res.Body), "\n"), "\n")
		if len(lines) != len(ids) || !bytes.HasSuffix(res.Body, []byte("\n")) {
			t.Fatalf("%d lines, want %d: %s", len(lines), len(ids), res.Body)
		}
		for i, cid := range ids {
			if got := e.as(e.team.Owner, "GET", contactPath(cid), nil).Body; lines[i] != string(got) {
				t.Errorf("line %d:\n%s\nwant GET's\n%s", i, lines[i], got)
			}
		}
	}
}

// The list's filters apply with the list's validation; paging and order are not parameters
// of an export; a format that is neither CSV nor JSON Lines is 406.
func TestExportFiltersAndRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	vip := id(e.contact(e.team.Owner, map[string]any{"name": "Vip Acme", "company": "Acme", "tags": []string{"vip", "north"}}))
	e.contact(e.team.Owner, map[string]any{"name": "Vip Other", "tags": []string{"vip"}})
	mine := id(e.contact(e.team.Member, map[string]any{"name": "Member's Acme", "company": "ACME corp"}))
	e.contact(e.team.Owner, map[string]any{"name": "Nobody"})
	ndjsonIDs := func(res apptest.Response) []int64 {
		t.Helper()
		if res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var out []int64
		for line := range strings.SplitSeq(strings.TrimSpace(string(res.Body)), "\n") {
			if line != "" {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatal(err)
				}
				out = append(out, id(m))
			}
		}
		return out
	}
	for q, want := range map[string][]int64{
		"tag=VIP&tag=north":  {vip},
		"search=acme":        {vip, mine},
		"search=acme&tag=vi": nil,
		fmt.Sprintf("owner_id=%d", e.team.Member.ID):            {mine},
		fmt.Sprintf("owner_id=%d&search=Acme", e.team.Owner.ID): {vip},
	} {
		if got := ndjsonIDs(e.as(e.team.Owner, "GET", exportPath+"?format=ndjson&"+q, nil)); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
	// With no match, a CSV export is its header row.
	res := e.as(e.team.Owner, "GET", exportPath+"?search=nothing-matches", nil)
	if res.Status != 200 || string(res.Body) != "id,owner_id,name,email,phone,company,job_title,notes,tags,created_at,updated_at\r\n" {
		t.Fatalf("empty export: %d %q", res.Status, res.Body)
	}
	for _, c := range []struct {
		who    apptest.User
		query  string
		accept string
		status int
		code   string
	}{
		{e.team.Member, fmt.Sprintf("owner_id=%d", e.team.Owner.ID), "", 403, "owner_filter_forbidden"},
		{e.team.Owner, "tag=" + strings.Repeat("x", 51), "", 400, "invalid_query"},
		{e.team.Owner, "owner_id=abc", "", 400, "invalid_query"},
		{e.team.Owner, "page=2", "", 400, "unknown_parameter"},
		{e.team.Owner, "page_size=10", "", 400, "unknown_parameter"},
		{e.team.Owner, "cursor=abc", "", 400, "unknown_parameter"},
		{e.team.Owner, "order_by=name", "", 400, "unknown_parameter"},
		{e.team.Owner, "format=xml", "", 406, "not_acceptable"},
		{e.team.Owner, "", "application/json", 406, "not_acceptable"},
	} {
		res := e.Do(apptest.Req{Method: "GET", Path: exportPath + "?" + c.query, Token: c.who.Token, Org: e.team.OrgID,
			Headers: map[string]string{"Accept": c.accept}})
		apptest.WantProblem(t, res, c.status, c.code)
	}
}

// Another organization's contacts never appear in an export, and its header is refused.
func TestExportIsConfinedToTheOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ours := id(e.contact(e.team.Owner, map[string]any{"name": "Secret of A", "tags": []string{"shared"}}))
	out := e.team.Outsider
	theirs := int64(e.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: out.Token, Org: out.OrgID,
		Body: map[string]any{"name": "B's", "tags": []string{"shared"}}}).JSON()["id"].(float64))
	for _, c := range []struct {
		who  apptest.User
		org  int64
		want string
	}{
		{e.team.Owner, e.team.OrgID, fmt.Sprintf(`{"id":%d,`, ours)},
		{out, out.OrgID, fmt.Sprintf(`{"id":%d,`, theirs)},
	} {
		res := e.Do(apptest.Req{Method: "GET", Path: exportPath + "?format=ndjson&tag=shared", Token: c.who.Token, Org: c.org})
		if res.Status != 200 || strings.Count(string(res.Body), "\n") != 1 || !strings.HasPrefix(string(res.Body), c.want) {
			t.Fatalf("export of organization %d: %d %s", c.org, res.Status, res.Body)
		}
	}
	res := e.Do(apptest.Req{Method: "GET", Path: exportPath, Token: out.Token, Org: e.team.OrgID})
	apptest.WantProblem(t, res, 403, "not_a_member")
}
