package imports_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/imports"
)

// importJSON is an import as GET /imports/{id} renders it.
type importJSON struct {
	ID            int64  `json:"id"`
	Type          string `json:"type"`
	DryRun        bool   `json:"dry_run"`
	Status        string `json:"status"`
	TotalRows     *int   `json:"total_rows"`
	ProcessedRows int    `json:"processed_rows"`
	Created       int    `json:"created"`
	ErrorCount    int    `json:"error_count"`
	Errors        []struct {
		Row     int     `json:"row"`
		Column  *string `json:"column"`
		Code    string  `json:"code"`
		Message string  `json:"message"`
	} `json:"errors"`
	CreatedAt  string  `json:"created_at"`
	FinishedAt *string `json:"finished_at"`
}

// errorsAt lists an import's errors as "row column code".
func (i importJSON) errorsAt() []string {
	var out []string
	for _, e := range i.Errors {
		col := "-"
		if e.Column != nil {
			col = *e.Column
		}
		out = append(out, fmt.Sprintf("%d %s %s", e.Row, col, e.Code))
	}
	return out
}

// send posts a CSV file as u in org.
func send(s *apptest.Server, u apptest.User, org int64, query, csv string, headers ...string) apptest.Response {
	h := map[string]string{"Content-Type": "text/csv"}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	return s.Do(apptest.Req{Method: "POST", Path: "/api/v1/imports?" + query, Token: u.Token, Org: org, Body: csv, Headers: h})
}

// accepted posts a file and returns the id of the queued import.
func accepted(t *testing.T, s *apptest.Server, u apptest.User, org int64, query, csv string) int64 {
	t.Helper()
	res := send(s, u, org, query, csv)
	if res.Status != http.StatusAccepted {
		t.Fatalf("POST /imports?%s: %d %s", query, res.Status, res.Body)
	}
	var out struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	res.Decode(t, &out)
	if out.Status != "queued" || res.Header.Get("Location") != fmt.Sprintf("/api/v1/imports/%d", out.ID) {
		t.Fatalf("answer %s, location %q", res.Body, res.Header.Get("Location"))
	}
	return out.ID
}

// get reads an import.
func get(t *testing.T, s *apptest.Server, u apptest.User, org, id int64) importJSON {
	t.Helper()
	var out importJSON
	s.Must(200, apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/imports/%d", id), Token: u.Token, Org: org}).Decode(t, &out)
	return out
}

// finished waits for an import to end.
func finished(t *testing.T, s *apptest.Server, u apptest.User, org, id int64) importJSON {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		imp := get(t, s, u, org, id)
		if imp.FinishedAt != nil {
			return imp
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %d still %s: %+v", id, imp.Status, imp)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// work starts the job queue of s until the test ends.
func work(t *testing.T, s *apptest.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.App.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.App.Stop(context.Background())
		cancel()
	})
}

// count runs a count over the whole database, as its owner (row-level security aside).
func count(t *testing.T, s *apptest.Server, sql string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.App.DB.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func contactsOf(t *testing.T, s *apptest.Server, org int64) int {
	return count(t, s, `SELECT count(*) FROM contacts WHERE organization_id = $1`, org)
}

func eventsOf(t *testing.T, s *apptest.Server, org int64, typ string) int {
	return count(t, s, `SELECT count(*) FROM events WHERE organization_id = $1 AND type = $2`, org, typ)
}

// list reads the organization's contacts, newest first.
func listContacts(t *testing.T, s *apptest.Server, u apptest.User, org int64) []map[string]any {
	t.Helper()
	var page struct {
		Items []map[string]any `json:"items"`
	}
	s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts?page_size=100&order_by=name&order=asc", Token: u.Token, Org: org}).Decode(t, &page)
	return page.Items
}

// A file with a BOM, CRLF line ends, quoted cells, tags and empty cells creates each row as
// POST /contacts would, with its contact.created event, and the import says so.
func TestImportCreatesContactsAsTheirCreateWould(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	work(t, s)
	csv := "\ufeffname,email,phone,company,job_title,notes,tags,owner_id\r\n" +
		"Ann Lee,ann@example.com,+1 555 0100,Acme,CTO,\"Met at the fair,\r\nlikes tea\",VIP; lead;vip," + fmt.Sprint(team.Manager.ID) + "\r\n" +
		"  Bob  ,,,,,,,\r\n" +
		"\"Carl \"\"C\"\" Moe\",carl@example.com,,,,,,\r\n"
	id := accepted(t, s, team.Owner, team.OrgID, "type=contacts", csv)
	imp := finished(t, s, team.Owner, team.OrgID, id)
	if imp.Status != "succeeded" || imp.Created != 3 || imp.TotalRows == nil || *imp.TotalRows != 3 || imp.ProcessedRows != 3 ||
		imp.ErrorCount != 0 || len(imp.Errors) != 0 || imp.Type != "contacts" || imp.DryRun {
		t.Fatalf("import %+v", imp)
	}
	items := listContacts(t, s, team.Owner, team.OrgID)
	if len(items) != 3 {
		t.Fatalf("contacts %v", items)
	}
	ann, bob, carl := items[0], items[1], items[2]
	if ann["name"] != "Ann Lee" || ann["email"] != "ann@example.com" || ann["phone"] != "+1 555 0100" || ann["company"] != "Acme" ||
		ann["notes"] != "Met at the fair,\nlikes tea" || fmt.Sprint(ann["tags"]) != "[vip lead]" || ann["owner_id"] != float64(team.Manager.ID) {
		t.Errorf("ann %v", ann)
	}
	if bob["name"] != "Bob" || bob["email"] != nil || bob["owner_id"] != float64(team.Owner.ID) || fmt.Sprint(bob["tags"]) != "[]" {
		t.Errorf("bob %v", bob)
	}
	if carl["name"] != `Carl "C" Moe` {
		t.Errorf("carl %v", carl)
	}
	if n := eventsOf(t, s, team.OrgID, "contact.created"); n != 3 {
		t.Errorf("%d contact.created events", n)
	}
	// Each event carries the contact as GET renders it, with the importer as actor.
	f := s.FollowFromStart(team.Owner.Token, team.OrgID)
	var created []apptest.Event
	for _, e := range f.Next() {
		if e.Type == "contact.created" {
			created = append(created, e)
		}
	}
	if len(created) != 3 {
		t.Fatalf("feed has %d contact.created", len(created))
	}
	for _, e := range created {
		e.WantUser(t, team.Owner)
		obj := e.Object(t)
		got := s.Must(200, apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/contacts/%v", obj["id"]), Token: team.Owner.Token, Org: team.OrgID})
		e.WantObject(t, got.Body)
	}
	// The file is gone once the import is done.
	if n := count(t, s, `SELECT count(*) FROM import_uploads WHERE organization_id = $1`, team.OrgID); n != 0 {
		t.Errorf("%d files kept", n)
	}
}

// The header is row 0: an unknown, repeated or missing column fails the import there, and no
// row is looked at.
func TestHeaderProblemsAreRowZero(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	work(t, s)
	for _, c := range []struct {
		typ, csv string
		want     []string
	}{
		{"contacts", "name,id,created_at\nAnn,1,2020-01-01\n", []string{"0 id unknown_column", "0 created_at unknown_column"}},
		{"contacts", "name,email,email\nAnn,a@x.io,b@x.io\n", []string{"0 email duplicate_column"}},
		{"contacts", "email\na@x.io\n", []string{"0 name missing_column"}},
		{"deals", "title,amount\nBig,10\n", []string{"0 contact_id missing_column"}},
		{"deals", "contact_id,title,amount,notes\n1,Big,10,x\n", []string{"0 notes unknown_column"}},
		{"contacts", "\ufeff", []string{"0 - empty_file"}},
	} {
		id := accepted(t, s, team.Owner, team.OrgID, "type="+c.typ, c.csv)
		imp := finished(t, s, team.Owner, team.OrgID, id)
		if imp.Status != "failed" || fmt.Sprint(imp.errorsAt()) != fmt.Sprint(c.want) || imp.ErrorCount != len(c.want) || imp.Created != 0 {
			t.Errorf("%q: %s %v", c.csv, imp.Status, imp.errorsAt())
		}
	}
	if n := contactsOf(t, s, team.OrgID); n != 0 {
		t.Errorf("%d contacts written", n)
	}
}

// Every bad row is reported with its column and the code a create gives the same mistake; one
// bad row writes nothing at all: no contact, no event.
func TestEveryBadRowIsReportedAndNothingIsWritten(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	work(t, s)
	long := strings.Repeat("x", 51)
	csv := "name,email,phone,tags,owner_id\n" +
		"Good One,good@example.com,,,\n" + // row 1
		",bad-email,,,\n" + // row 2: name required, email invalid
		"Phone,,abc,,\n" + // row 3
		"Tags,,,ok;" + long + ",\n" + // row 4
		"Owner,,,," + fmt.Sprint(team.Outsider.ID) + "\n" + // row 5: not a member
		"Owner id,,,,abc\n" + // row 6
		"Good Two,,,,\n" // row 7
	id := accepted(t, s, team.Owner, team.OrgID, "type=contacts", csv)
	imp := finished(t, s, team.Owner, team.OrgID, id)
	want := []string{"2 name validation_failed", "2 email validation_failed", "3 phone validation_failed", "4 tags validation_failed",
		"5 owner_id owner_not_member", "6 owner_id validation_failed"}
	if imp.Status != "failed" || fmt.Sprint(imp.errorsAt()) != fmt.Sprint(want) || imp.ErrorCount != len(want) || imp.Created != 0 ||
		imp.ProcessedRows != 7 || *imp.TotalRows != 7 {
		t.Fatalf("import %s %v %+v", imp.Status, imp.errorsAt(), imp)
	}
	if !strings.Contains(imp.Errors[3].Message, "tags[1]") {
		t.Errorf("tag message %q", imp.Errors[3].Message)
	}
	if n := contactsOf(t, s, team.OrgID); n != 0 {
		t.Errorf("%d contacts written", n)
	}
	if n := eventsOf(t, s, team.OrgID, "contact.created"); n != 0 {
		t.Errorf("%d events recorded", n)
	}
}

// A dry run checks everything and writes nothing: created is 0; it succeeds when every row
// passes and fails, listing them, when one does not.
func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	work(t, s)
	good := "name,email\nAnn,ann@example.com\nBob,bob@example.com\n"
	res := send(s, team.Owner, team.OrgID, "type=contacts&dry_run=true", good)
	if res.Status != 202 || res.JSON()["dry_run"] != true {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	imp := finished(t, s, team.Owner, team.OrgID, int64(res.JSON()["id"].(float64)))
	if imp.Status != "succeeded" || imp.Created != 0 || !imp.DryRun || imp.ProcessedRows != 2 || imp.ErrorCount != 0 {
		t.Fatalf("good dry run %+v", imp)
	}
	id := accepted(t, s, team.Owner, team.OrgID, "type=contacts&dry_run=true", good+"Bad,nope\n")
	imp = finished(t, s, team.Owner, team.OrgID, id)
	if imp.Status != "failed" || imp.Created != 0 || fmt.Sprint(imp.errorsAt()) != "[3 email validation_failed]" {
		t.Fatalf("bad dry run %+v", imp)
	}
	if n := contactsOf(t, s, team.OrgID); n != 0 {
		t.Errorf("%d contacts written", n)
	}
	if n := eventsOf(t, s, team.OrgID, "contact.created"); n != 0 {
		t.Errorf("%d events recorded", n)
	}
	// The same file for real creates the rows.
	imp = finished(t, s, team.Owner, team.OrgID, accepted(t, s, team.Owner, team.OrgID, "type=contacts&dry_run=false", good))
	if imp.Status != "succeeded" || imp.Created != 2 || contactsOf(t, s, team.OrgID) != 2 {
		t.Fatalf("real run %+v", imp)
	}
}

// A member imports records as their own, exactly as their creates would be: rows without
// owner_id are theirs, a row for someone else is refused (and so the whole import).
func TestAMembersRowsAreTheirs(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	work(t, s)
	imp := finished(t, s, team.Member, team.OrgID, accepted(t, s, team.Member, team.OrgID, "type=contacts",
		fmt.Sprintf("name,owner_id\nMine,\nAlso mine,%d\n", team.Member.ID)))
	if imp.Status != "succeeded" || imp.Created != 2 {
		t.Fatalf("import %+v", imp)
	}
	for _, c := range listContacts(t, s, team.Owner, team.OrgID) {
		if c["owner_id"] != float64(team.Member.ID) {
			t.Errorf("contact %v", c)
		}
	}
	imp = finished(t, s, team.Member, team.OrgID, accepted(t, s, team.Member, team.OrgID, "type=contacts",
		fmt.Sprintf("name,owner_id\nMine,\nTheirs,%d\n", team.Owner.ID)))
	if imp.Status != "failed" || fmt.Sprint(imp.errorsAt()) != "[2 owner_id create_for_other_forbidden]" {
		t.Fatalf("import %v", imp.errorsAt())
	}
	if n := contactsOf(t, s, team.OrgID); n != 2 {
		t.Errorf("%d contacts", n)
	}
}

// The sender's access is checked again when the job starts: a member removed, or an API key
// revoked, before it runs fails the import and writes nothing.
func TestAccessIsRecheckedWhenTheJobStarts(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	key := s.Must(201, apptest.Req{Method: "POST", Path: fmt.Sprintf("/api/v1/organizations/%d/api-keys", team.OrgID), Token: team.Owner.Token,
		Body: map[string]any{"name": "Sync", "role": "manager"}}).JSON()
	byMember := accepted(t, s, team.Member, team.OrgID, "type=contacts", "name\nAnn\n")
	byKey := accepted(t, s, apptest.User{Token: key["token"].(string)}, team.OrgID, "type=contacts", "name\nBob\n")
	s.Must(204, apptest.Req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/organizations/%d/members/%d", team.OrgID, team.Member.ID), Token: team.Owner.Token})
	s.Must(204, apptest.Req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/organizations/%d/api-keys/%v", team.OrgID, key["id"]), Token: team.Owner.Token})
	work(t, s)
	for _, id := range []int64{byMember, byKey} {
		imp := finished(t, s, team.Owner, team.OrgID, id)
		if imp.Status != "failed" || fmt.Sprint(imp.errorsAt()) != "[0 - access_revoked]" || imp.Created != 0 {
			t.Errorf("import %d: %+v", id, imp)
		}
	}
	if n := contactsOf(t, s, team.OrgID); n != 0 {
		t.Errorf("%d contacts written", n)
	}
	// A key that still works imports with its role, its events naming the key.
	key2 := s.Must(201, apptest.Req{Method: "POST", Path: fmt.Sprintf("/api/v1/organizations/%d/api-keys", team.OrgID), Token: team.Owner.Token,
		Body: map[string]any{"name": "Sync 2", "role": "member"}}).JSON()
	imp := finished(t, s, team.Owner, team.OrgID, accepted(t, s, apptest.User{Token: key2["token"].(string)}, team.OrgID, "type=contacts", "name\nCleo\n"))
	if imp.Status != "succeeded" || imp.Created != 1 {
		t.Fatalf("key import %+v", imp)
	}
	if n := count(t, s, `SELECT count(*) FROM events WHERE organization_id = $1 AND type = 'contact.created' AND actor_type = 'api_key' AND actor_id = $2`,
		team.OrgID, int64(key2["id"].(float64))); n != 1 {
		t.Errorf("%d events by the key", n)
	}
}

// Malformed files fail clearly, naming the row, and never answer 500 or write anything.
func TestMalformedFilesFailClearly(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	work(t, s)
	for _, c := range []struct {
		csv  string
		want []string
	}{
		{"name,email\nAnn,\"ann@example.com\nBob,bob@example.com\n", []string{"1 - malformed_csv"}},
		{"name,email\nAnn,a\"b@example.com\n", []string{"1 - malformed_csv"}},
		{"name,email\nAnn\nBob,bob@example.com,extra\nCleo,cleo@example.com\n", []string{"1 - wrong_column_count", "2 - wrong_column_count"}},
		{"name,email\nAnn,ann@example.com\nB\xffb,bob@example.com\n", []string{"2 name invalid_text"}},
		{"name,email\nAnn,a\x00b@example.com\n", []string{"1 email invalid_text"}},
	} {
		id := accepted(t, s, team.Owner, team.OrgID, "type=contacts", c.csv)
		imp := finished(t, s, team.Owner, team.OrgID, id)
		if imp.Status != "failed" || fmt.Sprint(imp.errorsAt()) != fmt.Sprint(c.want) {
			t.Errorf("%q: %s %v", c.csv, imp.Status, imp.errorsAt())
		}
	}
	if n := contactsOf(t, s, team.OrgID); n != 0 {
		t.Errorf("%d contacts written", n)
	}
}

// Cells an export protected with a leading ' import as they were: the ' before =, +, -, @,
// tab or CR is taken away, any other stays.
func TestExportedFormulaCellsImportUnchanged(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	work(t, s)
	csv := "name,phone,notes\n" +
		"'=HYPERLINK(1),'+1 555 0100,'-minus\n" +
		"'@at,,'\tTabbed\n" +
		"'quoted name,,'\rCR\n"
	imp := finished(t, s, team.Owner, team.OrgID, accepted(t, s, team.Owner, team.OrgID, "type=contacts", csv))
	if imp.Status != "succeeded" {
		t.Fatalf("import %v", imp.errorsAt())
	}
	got := map[string]map[string]any{}
	for _, c := range listContacts(t, s, team.Owner, team.OrgID) {
		got[c["name"].(string)] = c
	}
	if c := got["=HYPERLINK(1)"]; c == nil || c["phone"] != "+1 555 0100" || c["notes"] != "-minus" {
		t.Errorf("formula row %v", got)
	}
	if c := got["@at"]; c == nil || c["notes"] != "\tTabbed" {
		t.Errorf("at row %v", got)
	}
	if c := got["'quoted name"]; c == nil || c["notes"] != "\rCR" {
		t.Errorf("quote row %v", got)
	}
}

// The media type is text/csv, the query takes type and dry_run only, and bad values are 400s
// that create nothing.
func TestTheRequestIsChecked(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	res := s.Do(apptest.Req{Method: "POST", Path: "/api/v1/imports?type=contacts", Token: team.Owner.Token, Org: team.OrgID, Body: "name\nAnn\n"})
	m := apptest.WantProblem(t, res, 415, "unsupported_media_type")
	if !strings.Contains(m["detail"].(string), "text/csv") {
		t.Errorf("detail %v", m["detail"])
	}
	apptest.WantProblem(t, send(s, team.Owner, team.OrgID, "type=tasks&dry_run=maybe", "name\nAnn\n"), 400, "invalid_query")
	m = apptest.WantProblem(t, send(s, team.Owner, team.OrgID, "dry_run=maybe", "name\nAnn\n"), 400, "invalid_query")
	if fmt.Sprint(apptest.ProblemFields(m)) != "[type dry_run]" {
		t.Errorf("fields %v", apptest.ProblemFields(m))
	}
	apptest.WantProblem(t, send(s, team.Owner, team.OrgID, "type=contacts&mode=x", "name\nAnn\n"), 400, "unknown_parameter")
	apptest.WantProblem(t, send(s, team.Owner, team.OrgID, "type=contacts", ""), 400, "empty_file")
	res = send(s, team.Owner, team.OrgID, "type=contacts", "name\nAnn\n", "Content-Type", "text/csv; charset=utf-8")
	if res.Status != 202 {
		t.Errorf("charset parameter: %d %s", res.Status, res.Body)
	}
	if n := count(t, s, `SELECT count(*) FROM imports WHERE organization_id = $1`, team.OrgID); n != 1 {
		t.Errorf("%d imports", n)
	}
}

// Files past 1 MiB are taken, up to 50 MiB; a larger one is refused with 413 from its
// announced length, before anything is read or stored (over real HTTP: the server enforces
// the limit while reading).
func TestLargeFilesAreTakenUpTo50MiB(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	var b strings.Builder
	b.WriteString("name,notes\n")
	for b.Len() < 3<<20 {
		fmt.Fprintf(&b, "Contact %d,%s\n", b.Len(), strings.Repeat("n", 200))
	}
	res := send(s, team.Owner, team.OrgID, "type=contacts&dry_run=true", b.String())
	if res.Status != 202 {
		t.Fatalf("3 MiB: %d %s", res.Status, res.Body)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.App.HTTP.Listener(ln) }()
	t.Cleanup(func() { _ = s.App.HTTP.Shutdown() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/imports?type=contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Organization-Id: %d\r\n"+
		"Content-Type: text/csv\r\nContent-Length: %d\r\n\r\n", team.Owner.Token, team.OrgID, 51<<20)
	hres, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(hres.Body)
	hres.Body.Close()
	if hres.StatusCode != 413 || !strings.Contains(string(raw), `"code":"body_too_large"`) || !strings.Contains(string(raw), "50 MiB") {
		t.Fatalf("51 MiB: %d %s", hres.StatusCode, raw)
	}
	if n := count(t, s, `SELECT count(*) FROM imports WHERE organization_id = $1`, team.OrgID); n != 1 {
		t.Errorf("%d imports", n)
	}
}

// At most five imports of an organization wait at once: the sixth is 429 with Retry-After,
// and another organization is not affected.
func TestTheSixthQueuedImportIs429(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	for i := range imports.MaxQueued {
		accepted(t, s, team.Owner, team.OrgID, "type=contacts", fmt.Sprintf("name\nAnn %d\n", i))
	}
	res := send(s, team.Member, team.OrgID, "type=contacts", "name\nOne more\n", "Idempotency-Key", "sixth")
	apptest.WantProblem(t, res, 429, "too_many_imports")
	if res.Header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}
	accepted(t, s, team.Outsider, team.Outsider.OrgID, "type=contacts", "name\nElsewhere\n")
	// Once they have run, the same request (same key) is taken: the 429 was not kept as its answer.
	work(t, s)
	deadline := time.Now().Add(60 * time.Second)
	for count(t, s, `SELECT count(*) FROM imports WHERE organization_id = $1 AND status = 'queued'`, team.OrgID) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("imports still queued")
		}
		time.Sleep(50 * time.Millisecond)
	}
	res = send(s, team.Member, team.OrgID, "type=contacts", "name\nOne more\n", "Idempotency-Key", "sixth")
	if res.Status != 202 || res.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("after the queue drained: %d %s", res.Status, res.Body)
	}
}

// The same Idempotency-Key and file replay the first answer and queue nothing more; the key
// with another file is 422.
func TestIdempotencyKeyReplays(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	csv := "name\nAnn\n"
	first := send(s, team.Owner, team.OrgID, "type=contacts", csv, "Idempotency-Key", "import-1")
	again := send(s, team.Owner, team.OrgID, "type=contacts", csv, "Idempotency-Key", "import-1")
	if first.Status != 202 || again.Status != 202 || string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d %s, again %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	apptest.WantProblem(t, send(s, team.Owner, team.OrgID, "type=contacts", csv+"Bob\n", "Idempotency-Key", "import-1"), 422, "idempotency_key_reused")
	apptest.WantProblem(t, send(s, team.Owner, team.OrgID, "type=contacts&dry_run=true", csv, "Idempotency-Key", "import-1"), 422, "idempotency_key_reused")
	if n := count(t, s, `SELECT count(*) FROM imports WHERE organization_id = $1`, team.OrgID); n != 1 {
		t.Errorf("%d imports", n)
	}
	if n := count(t, s, `SELECT count(*) FROM river_job WHERE kind = 'imports.run' AND (args->>'org_id')::bigint = $1`, team.OrgID); n != 1 {
		t.Errorf("%d jobs", n)
	}
}

// Another organization's import is a 404 exactly like one that never existed, and the list
// shows the organization's own imports only, newest first.
func TestImportsOfAnotherOrganizationAreInvisible(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	first := accepted(t, s, team.Owner, team.OrgID, "type=contacts", "name\nAnn\n")
	second := accepted(t, s, team.Member, team.OrgID, "type=deals&dry_run=true", "contact_id,title,amount\n1,Big,10\n")
	outsider := team.Outsider
	theirs := s.Do(apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/imports/%d", first), Token: outsider.Token, Org: outsider.OrgID})
	never := s.Do(apptest.Req{Method: "GET", Path: "/api/v1/imports/999999", Token: outsider.Token, Org: outsider.OrgID})
	apptest.WantProblem(t, theirs, 404, "import_not_found")
	apptest.SameProblem(t, theirs, never)
	var page struct {
		Items []importJSON `json:"items"`
		Total int          `json:"total"`
	}
	s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/imports", Token: outsider.Token, Org: outsider.OrgID}).Decode(t, &page)
	if len(page.Items) != 0 || page.Total != 0 {
		t.Errorf("outsider's list %+v", page)
	}
	s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/imports", Token: team.Manager.Token, Org: team.OrgID}).Decode(t, &page)
	if len(page.Items) != 2 || page.Total != 2 || page.Items[0].ID != second || page.Items[1].ID != first ||
		page.Items[0].Status != "queued" || !page.Items[0].DryRun || page.Items[0].TotalRows != nil || page.Items[0].Type != "deals" {
		t.Errorf("list %+v", page)
	}
}

// Deals name their contact by contact_id or by contact_email, which must match exactly one
// live contact; each created deal is written as POST /deals writes it.
func TestDealsImportResolvesContactEmails(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	mk := func(name, email string) float64 {
		return s.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: team.Owner.Token, Org: team.OrgID,
			Body: map[string]any{"name": name, "email": email}}).JSON()["id"].(float64)
	}
	ann := mk("Ann", "ann@example.com")
	mk("Twin one", "twin@example.com")
	mk("Twin two", "Twin@Example.com")
	work(t, s)
	bad := fmt.Sprintf("contact_id,contact_email,title,amount,stage\n"+
		",ANN@example.com ,By email,100.00,proposal\n"+ // 1
		"%v,,By id,50,\n"+ // 2
		",twin@example.com,Ambiguous,10,\n"+ // 3
		",nobody@example.com,Unknown,10,\n"+ // 4
		"%v,ann@example.com,Both,10,\n"+ // 5
		"999999,,No contact,10,\n"+ // 6
		"%v,,Bad stage,10,nowhere\n", ann, ann, ann) // 7
	imp := finished(t, s, team.Owner, team.OrgID, accepted(t, s, team.Owner, team.OrgID, "type=deals", bad))
	want := []string{"3 contact_email contact_email_ambiguous", "4 contact_email contact_not_found", "5 contact_email validation_failed",
		"6 contact_id contact_not_found", "7 stage unknown_stage"}
	if imp.Status != "failed" || fmt.Sprint(imp.errorsAt()) != fmt.Sprint(want) {
		t.Fatalf("import %s %v", imp.Status, imp.errorsAt())
	}
	if n := count(t, s, `SELECT count(*) FROM deals WHERE organization_id = $1`, team.OrgID); n != 0 {
		t.Fatalf("%d deals written", n)
	}
	if n := count(t, s, `SELECT count(*) FROM activities WHERE organization_id = $1`, team.OrgID); n != 0 {
		t.Fatalf("%d activities written", n)
	}
	good := fmt.Sprintf("contact_id,contact_email,title,amount,stage,status\n,ann@example.com,By email,100.00,proposal,won\n%v,,By id,50,,\n", ann)
	imp = finished(t, s, team.Owner, team.OrgID, accepted(t, s, team.Owner, team.OrgID, "type=deals", good))
	if imp.Status != "succeeded" || imp.Created != 2 {
		t.Fatalf("import %+v", imp)
	}
	var page struct {
		Items []map[string]any `json:"items"`
	}
	s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/deals?order_by=title&order=asc", Token: team.Owner.Token, Org: team.OrgID}).Decode(t, &page)
	if len(page.Items) != 2 || page.Items[0]["title"] != "By email" || page.Items[0]["contact_id"] != ann || page.Items[0]["stage"] != "proposal" ||
		page.Items[0]["status"] != "won" || page.Items[1]["contact_id"] != ann || page.Items[1]["currency"] != "USD" {
		t.Fatalf("deals %v", page.Items)
	}
	// What a create writes: the events, the timeline's deal_created, the analytics.
	if n := eventsOf(t, s, team.OrgID, "deal.created"); n != 2 {
		t.Errorf("%d deal.created", n)
	}
	var acts struct {
		Items []map[string]any `json:"items"`
	}
	s.Must(200, apptest.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/deals/%v/activities", page.Items[0]["id"]), Token: team.Owner.Token, Org: team.OrgID}).Decode(t, &acts)
	if len(acts.Items) != 1 || fmt.Sprint(acts.Items[0]["payload"]) != "map[event:deal_created]" {
		t.Errorf("timeline %v", acts.Items)
	}
	summary := s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/analytics/deals/summary", Token: team.Owner.Token, Org: team.OrgID}).JSON()
	byStatus := summary["by_status"].(map[string]any)
	if byStatus["won"].(map[string]any)["count"] != float64(1) || byStatus["new"].(map[string]any)["count"] != float64(1) {
		t.Errorf("summary %v", summary)
	}
}

// A contacts export, its read-only columns (id, created_at, updated_at) removed, imports back
// as the same contacts: every cell, formula-guarded ones, tags, line breaks and quotes included.
// (A line break inside a cell imports as LF: the export writes every one as CRLF, so a CSV
// round trip cannot tell CRLF from LF.)
func TestAnExportImportsBackUnchanged(t *testing.T) {
	t.Parallel()
	s := apptest.New(t)
	team := s.NewTeam()
	work(t, s)
	for _, c := range []map[string]any{
		{"name": "=SUM(A1:A3)", "phone": "+1 555 0100", "notes": "-5 apples\nthen \"more\", later", "tags": []string{"vip", "lead"}},
		{"name": "@handle", "company": "Acme, Inc.", "job_title": "+CTO", "email": "at@example.com"},
		{"name": "'quoted", "notes": "\ttabbed"},
	} {
		s.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: team.Owner.Token, Org: team.OrgID, Body: c})
	}
	before := listContacts(t, s, team.Owner, team.OrgID)
	res := s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts/export?format=csv", Token: team.Owner.Token, Org: team.OrgID})
	recs, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatalf("export: %v\n%s", err, res.Body)
	}
	var keep []int
	for i, col := range recs[0] {
		if slices.Contains([]string{"name", "email", "phone", "company", "job_title", "notes", "tags", "owner_id"}, col) {
			keep = append(keep, i)
		}
	}
	var file bytes.Buffer
	w := csv.NewWriter(&file)
	w.UseCRLF = true
	for _, rec := range recs {
		row := make([]string, len(keep))
		for j, i := range keep {
			row[j] = rec[i]
		}
		_ = w.Write(row)
	}
	w.Flush()
	if !bytes.Contains(file.Bytes(), []byte("'=SUM")) {
		t.Fatalf("the export guards no formula: %s", file.Bytes())
	}
	imp := finished(t, s, team.Owner, team.OrgID, accepted(t, s, team.Owner, team.OrgID, "type=contacts", file.String()))
	if imp.Status != "succeeded" || imp.Created != 3 {
		t.Fatalf("import %+v", imp)
	}
	after := listContacts(t, s, team.Owner, team.OrgID)
	if len(after) != 6 {
		t.Fatalf("%d contacts", len(after))
	}
	strip := func(c map[string]any) string {
		c = maps.Clone(c)
		delete(c, "id")
		delete(c, "created_at")
		delete(c, "updated_at")
		raw, _ := json.Marshal(c)
		return string(raw)
	}
	count := map[string]int{}
	for _, c := range after {
		count[strip(c)]++
	}
	for _, c := range before {
		if count[strip(c)] != 2 {
			t.Errorf("contact %s did not come back unchanged; now: %v", strip(c), count)
		}
	}
}
