package deals_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

const dealsExport = "/api/v1/deals/export"

// fieldsInOrder returns the members of a JSON object in their rendered order, values raw.
func fieldsInOrder(t *testing.T, body []byte) ([]string, map[string]json.RawMessage) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", body)
	}
	var names []string
	values := map[string]json.RawMessage{}
	for dec.More() {
		tok, _ := dec.Token()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		values[tok.(string)] = v
	}
	return names, values
}

// cellOf is the cell the contract gives a JSON value of a deal: null is empty, a text is
// itself (guarded against formulas), a number its literal.
func cellOf(v json.RawMessage) string {
	switch v[0] {
	case 'n':
		return ""
	case '"':
		var s string
		_ = json.Unmarshal(v, &s)
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			s = "'" + s
		}
		return strings.ReplaceAll(s, "\r\n", "\n")
	}
	return string(v)
}

func exportIDs(t *testing.T, res apptest.Response) []int64 {
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

// The CSV export, read back with encoding/csv, has the GET rendering's fields as columns, in
// its order, and for every deal the cells derived from the API's JSON: amounts with their two
// decimals, dates, nulls as empty cells. JSON Lines are the GET bodies byte for byte.
func TestDealExportEqualsTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []int64
	for _, f := range []map[string]any{
		{"title": "Plain", "amount": "0.00"},
		{"title": "Big, \"quoted\" deal", "amount": "99999999999.99", "currency": "EUR", "expected_close_date": "2026-12-31", "probability": 35},
		{"title": "=cmd|' /C calc'!A0", "amount": 12.5, "status": "lost", "lost_reason": "budget\ncut, twice"},
		{"title": "Won ✓ 日本", "amount": "1500", "status": "won", "stage": "negotiation"},
		{"title": "-minus first", "amount": "7.10", "status": "in_progress", "stage": "proposal"},
	} {
		ids = append(ids, id(e.deal(e.team.Owner, f)))
	}
	res := e.as(e.team.Member, "GET", dealsExport, nil)
	if res.Status != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("%d %v %s", res.Status, res.Header, res.Body)
	}
	rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	if err != nil || len(rows) != len(ids)+1 {
		t.Fatalf("read back: %v, %d rows\n%s", err, len(rows), res.Body)
	}
	if bytes.Count(res.Body, []byte("\n")) != bytes.Count(res.Body, []byte("\r\n")) {
		t.Fatalf("a line break that is not CRLF: %q", res.Body)
	}
	nd := e.as(e.team.Member, "GET", dealsExport+"?format=ndjson", nil)
	lines := strings.Split(strings.TrimSuffix(string(nd.Body), "\n"), "\n")
	if nd.Status != 200 || len(lines) != len(ids) {
		t.Fatalf("ndjson: %d %s", nd.Status, nd.Body)
	}
	for i, did := range ids {
		got := e.as(e.team.Owner, "GET", dealPath(did), nil).Body
		if lines[i] != string(got) {
			t.Errorf("JSON line %d:\n%s\nwant GET's\n%s", i, lines[i], got)
		}
		names, values := fieldsInOrder(t, got)
		if !slices.Equal(rows[0], names) {
			t.Fatalf("header %v, want %v", rows[0], names)
		}
		for j, name := range names {
			if want := cellOf(values[name]); rows[i+1][j] != want {
				t.Errorf("deal %d, %s: cell %q, want %q", did, name, rows[i+1][j], want)
			}
		}
	}
	// Nulls and numbers as the contract has them, spelled out once.
	if r := rows[1]; r[slices.Index(rows[0], "amount")] != "0.00" || r[slices.Index(rows[0], "expected_close_date")] != "" ||
		r[slices.Index(rows[0], "probability")] != "" || r[slices.Index(rows[0], "lost_reason")] != "" {
		t.Errorf("first deal %q", r)
	}
	if r := rows[2]; r[slices.Index(rows[0], "expected_close_date")] != "2026-12-31" || r[slices.Index(rows[0], "probability")] != "35" {
		t.Errorf("second deal %q", r)
	}
}

// The list's filters and their validation apply; another organization's deals never appear.
func TestDealExportFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := id(e.deal(e.team.Owner, map[string]any{"title": "Alpha", "amount": "100", "expected_close_date": "2027-01-15"}))
	b := id(e.deal(e.team.Owner, map[string]any{"title": "Beta", "amount": "5000", "status": "won", "stage": "negotiation"}))
	c := id(e.deal(e.team.Member, map[string]any{"title": "Gamma alpha", "amount": "250", "stage": "proposal"}))
	other := e.Register("other")
	otherContact := int64(e.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/contacts", Token: other.Token, Org: other.OrgID,
		Body: map[string]any{"name": "X"}}).JSON()["id"].(float64))
	e.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/deals", Token: other.Token, Org: other.OrgID,
		Body: map[string]any{"contact_id": otherContact, "title": "Alpha of another organization", "amount": "100"}})
	otherPipeline := int64(e.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/pipelines", Token: other.Token, Org: other.OrgID,
		Body: map[string]any{"name": "Theirs", "stages": []any{map[string]any{"key": "one"}}}}).JSON()["id"].(float64))
	for q, want := range map[string][]int64{
		"":                                           {a, b, c},
		"status=won":                                 {b},
		"status=new&status=won":                      {a, b, c},
		"stage=proposal":                             {c},
		"search=ALPHA":                               {a, c},
		"min_amount=200&max_amount=1000":             {c},
		"expected_close_after=2027-01-01":            {a},
		"expected_close_before=2026-01-01":           nil,
		fmt.Sprintf("contact_id=%d", e.contact):      {a, b, c},
		fmt.Sprintf("owner_id=%d", e.team.Member.ID): {c},
	} {
		if got := exportIDs(t, e.as(e.team.Owner, "GET", dealsExport+"?format=ndjson&"+q, nil)); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
	for _, r := range []struct {
		who    apptest.User
		query  string
		status int
		code   string
	}{
		{e.team.Owner, "stage=nope", 400, "invalid_query"},
		{e.team.Owner, "status=bogus&min_amount=x", 400, "invalid_query"},
		{e.team.Owner, fmt.Sprintf("pipeline_id=%d", otherPipeline), 404, "pipeline_not_found"},
		{e.team.Member, fmt.Sprintf("owner_id=%d", e.team.Owner.ID), 403, "owner_filter_forbidden"},
		{e.team.Owner, "page=1", 400, "unknown_parameter"},
		{e.team.Owner, "order=asc", 400, "unknown_parameter"},
		{e.team.Owner, "format=json", 406, "not_acceptable"},
	} {
		apptest.WantProblem(t, e.as(r.who, "GET", dealsExport+"?"+r.query, nil), r.status, r.code)
	}
	res := e.as(e.team.Owner, "GET", dealsExport+"?format=csv", nil)
	if strings.Contains(string(res.Body), "another organization") {
		t.Fatalf("another organization's deal in the export:\n%s", res.Body)
	}
	res = e.Do(apptest.Req{Method: "GET", Path: dealsExport + "?format=ndjson", Token: other.Token, Org: other.OrgID})
	if res.Status != 200 || strings.Count(string(res.Body), "\n") != 1 || !strings.Contains(string(res.Body), "another organization") {
		t.Fatalf("the other organization's export: %d %s", res.Status, res.Body)
	}
}

// gate makes the export stop, while its query runs, at the first deal at the stage key
// "gate", for as long as the test holds an advisory lock: the deals query asks the pipelines'
// stage probability of every deal without its own, and the test replaces that function (in
// its own database) by one that waits for the lock there. waitBlocked waits until an
// export's query waits at the gate and returns its backend's pid; lift opens the gate.
func gate(t *testing.T, e env) (waitBlocked func() int, lift func()) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.sql.Exec(ctx, `CREATE OR REPLACE FUNCTION pipelines_stage_probability(org bigint, pipeline bigint, stage text) RETURNS integer
		LANGUAGE plpgsql STABLE AS $$
		BEGIN
			IF stage = 'gate' THEN
				PERFORM pg_advisory_lock_shared(4242);
				PERFORM pg_advisory_unlock_shared(4242);
			END IF;
			RETURN (SELECT s.probability FROM pipeline_stages s WHERE s.organization_id = org AND s.pipeline_id = pipeline AND s.key = stage);
		END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sql.Exec(ctx, "SELECT pg_advisory_lock(4242)"); err != nil {
		t.Fatal(err)
	}
	lifted := false
	lift = func() {
		if !lifted {
			lifted = true
			_, _ = e.sql.Exec(ctx, "SELECT pg_advisory_unlock(4242)")
		}
	}
	t.Cleanup(lift)
	waitBlocked = func() int {
		t.Helper()
		for range 500 {
			var pid int
			err := e.sql.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE 'FETCH FORWARD %'`).Scan(&pid)
			if err == nil {
				return pid
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("the export never reached the gate")
		return 0
	}
	return waitBlocked, lift
}

// gatedDeals creates deals before and after one at the gate stage (of a pipeline of its
// own), and returns their ids in order.
func gatedDeals(t *testing.T, e env) (before []int64, gated int64, after []int64) {
	t.Helper()
	// More than the database server's 8 kB output buffer, which it sends only once full: the
	// client gets these rows while the query waits at the gate.
	for i := range 60 {
		before = append(before, id(e.deal(e.team.Owner, map[string]any{"title": fmt.Sprintf("Before %d %s", i, strings.Repeat("x", 180))})))
	}
	pl := id(e.must(201, e.team.Owner, "POST", "/api/v1/pipelines", map[string]any{"name": "Gated", "stages": []any{map[string]any{"key": "gate"}}}))
	gated = id(e.deal(e.team.Owner, map[string]any{"title": "At the gate", "pipeline_id": pl, "stage": "gate"}))
	for i := range 3 {
		after = append(after, id(e.deal(e.team.Owner, map[string]any{"title": fmt.Sprintf("After %d", i)})))
	}
	return before, gated, after
}

// A write committed while an export's query runs is not in the export: it reads one
// snapshot. The export is held mid-query (at the gate) while a deal is created and a later
// one renamed; it then ends with neither change.
func TestExportReadsOneSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before, gated, after := gatedDeals(t, e)
	waitBlocked, lift := gate(t, e)
	base := e.Listen()
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base+dealsExport+"?format=ndjson", nil)
		req.Header.Set("Authorization", "Bearer "+e.team.Owner.Token)
		req.Header.Set("X-Organization-Id", fmt.Sprint(e.team.OrgID))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		done <- result{b, err}
	}()
	waitBlocked()
	added := id(e.deal(e.team.Owner, map[string]any{"title": "Created during the export"}))
	e.must(200, e.team.Owner, "PATCH", dealPath(after[2]), map[string]any{"title": "Renamed during the export"})
	lift()
	r := <-done
	if r.err != nil {
		t.Fatalf("export: %v", r.err)
	}
	var ids []int64
	for line := range strings.SplitSeq(strings.TrimSpace(string(r.body)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, r.body)
		}
		ids = append(ids, id(m))
		if id(m) == after[2] && m["title"] != "After 2" {
			t.Errorf("the export shows a rename committed after it began: %s", line)
		}
	}
	want := append(append(slices.Clone(before), gated), after...)
	if !slices.Equal(ids, want) || slices.Contains(ids, added) {
		t.Fatalf("ids %v, want %v (without %d, created during the export)", ids, want, added)
	}
	// A new export sees both writes.
	if got := exportIDs(t, e.as(e.team.Owner, "GET", dealsExport+"?format=ndjson", nil)); !slices.Contains(got, added) {
		t.Fatalf("a later export misses the deal created before it: %v", got)
	}
}

// When the query fails once the export is streaming (its connection is killed while it
// waits at the gate), the response ends without its final chunk: the client's read fails
// rather than ending as if the export were complete. The service goes on serving.
func TestAFailedQueryCutsTheExportOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gatedDeals(t, e)
	waitBlocked, lift := gate(t, e)
	base := e.Listen()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+dealsExport, nil)
	req.Header.Set("Authorization", "Bearer "+e.team.Owner.Token)
	req.Header.Set("X-Organization-Id", fmt.Sprint(e.team.OrgID))
	res, err := http.DefaultClient.Do(req) // the headers come with the first rows, before the gate
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	pid := waitBlocked()
	if _, err := e.sql.Exec(context.Background(), "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	lift()
	body, err := io.ReadAll(bufio.NewReader(res.Body))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a cut-off export: %v after %q, want unexpected EOF", err, body)
	}
	// What arrived before the cut (rows are sent in chunks of up to 32 kB) is at most the
	// rows before the gate.
	if strings.Contains(string(body), "At the gate") || (len(body) > 0 && !strings.HasPrefix(string(body), "id,contact_id,")) {
		t.Fatalf("the cut-off export's rows: %q", body)
	}
	// The pool replaced the dead connection: exports work again.
	for i := 0; ; i++ {
		res := e.as(e.team.Owner, "GET", dealsExport+"?format=ndjson", nil)
		if res.Status == 200 && strings.Count(string(res.Body), "\n") == 64 {
			break
		}
		if i > 50 {
			t.Fatalf("after the cut: %d %s", res.Status, res.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
