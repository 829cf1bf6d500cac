package export_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mini-crm/crm/platform/export"
)

type nested struct {
	A int    `json:"a"`
	B string `json:"b"`
}

type record struct {
	ID     int64          `json:"id"`
	Name   string         `json:"name"`
	Note   *string        `json:"note"`
	Tags   []string       `json:"tags"`
	Nums   []int          `json:"nums"`
	Flag   bool           `json:"flag"`
	Inner  *nested        `json:"inner"`
	Mixed  []any          `json:"mixed"`
	Amount json.Number    `json:"amount"`
	Extra  map[string]int `json:"extra"`
}

func ptr(s string) *string { return &s }

func encode(t *testing.T, f export.Format, recs ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := export.NewEncoder(&buf, f, record{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if enc.Rows() != int64(len(recs)) {
		t.Fatalf("rows %d, want %d", enc.Rows(), len(recs))
	}
	return buf.Bytes()
}

// Every kind of value becomes the cell the package documents, read back by encoding/csv.
func TestCSVCells(t *testing.T) {
	t.Parallel()
	recs := []any{
		record{ID: 1, Name: `Ann, "the" boss`, Note: ptr("line one\nline two"), Tags: []string{"vip", "lead"}, Nums: []int{1, 2},
			Flag: true, Inner: &nested{A: 1, B: "x,y"}, Mixed: []any{"a", map[string]any{"k": 1}}, Amount: "12.50", Extra: map[string]int{"z": 1}},
		record{ID: 2, Name: "=HYPERLINK(\"x\")", Note: nil, Tags: []string{}, Amount: "-3.00"},
		record{ID: 3, Name: "Zoë 日本 🚀", Note: ptr("windows\r\nbreak and a lone\rcr"), Tags: []string{"-minus", "@at"}, Amount: "0.00"},
		record{ID: 4, Name: "+1 555", Note: ptr("\tindented"), Tags: nil, Amount: "1.00", Mixed: []any{"a", nil}},
		record{ID: 5, Name: "@sum", Note: ptr("\rstarts with CR"), Amount: "1.00"},
		record{ID: 6, Name: "'=already quoted", Note: ptr(""), Amount: "1.00"},
	}
	out := encode(t, export.CSV, recs...)
	r := csv.NewReader(bytes.NewReader(out))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read back: %v\n%s", err, out)
	}
	header := []string{"id", "name", "note", "tags", "nums", "flag", "inner", "mixed", "amount", "extra"}
	if !slices.Equal(rows[0], header) {
		t.Fatalf("header %v, want %v", rows[0], header)
	}
	want := [][]string{
		{"1", `Ann, "the" boss`, "line one\nline two", "vip;lead", "1;2", "true", `{"a":1,"b":"x,y"}`, `["a",{"k":1}]`, "12.50", `{"z":1}`},
		{"2", `'=HYPERLINK("x")`, "", "", "", "false", "", "", "'-3.00", ""},
		{"3", "Zoë 日本 🚀", "windows\nbreak and a lone\ncr", "'-minus;@at", "", "false", "", "", "0.00", ""},
		{"4", "'+1 555", "'\tindented", "", "", "false", "", `["a",null]`, "1.00", ""},
		{"5", "'@sum", "'\nstarts with CR", "", "", "false", "", "", "1.00", ""},
		{"6", "'=already quoted", "", "", "", "false", "", "", "1.00", ""},
	}
	if len(rows)-1 != len(want) {
		t.Fatalf("%d rows, want %d", len(rows)-1, len(want))
	}
	for i, w := range want {
		if !slices.Equal(rows[i+1], w) {
			t.Errorf("row %d:\n got %q\nwant %q", i+1, rows[i+1], w)
		}
	}
}

// Every line ends with CRLF, those inside quoted cells included, and a cell never loses a
// carriage return silently: it becomes part of a CRLF.
func TestCSVLinesEndWithCRLF(t *testing.T) {
	t.Parallel()
	out := encode(t, export.CSV, record{ID: 1, Name: "a\nb", Note: ptr("c\rd")}, record{ID: 2, Name: "e"})
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Fatalf("no CRLF at the end: %q", out)
	}
	for i, b := range out {
		if b == '\n' && (i == 0 || out[i-1] != '\r') {
			t.Fatalf("bare LF at %d: %q", i, out)
		}
		if b == '\r' && (i+1 == len(out) || out[i+1] != '\n') {
			t.Fatalf("bare CR at %d: %q", i, out)
		}
	}
	if got := strings.Count(string(out), "\r\n"); got != 5 { // 3 lines + 2 breaks inside cells
		t.Fatalf("%d CRLF, want 5: %q", got, out)
	}
}

// An export without records is its header row in CSV and nothing in JSON Lines.
func TestEmptyExport(t *testing.T) {
	t.Parallel()
	if got := string(encode(t, export.CSV)); got != "id,name,note,tags,nums,flag,inner,mixed,amount,extra\r\n" {
		t.Fatalf("empty CSV %q", got)
	}
	if got := encode(t, export.NDJSON); len(got) != 0 {
		t.Fatalf("empty JSON Lines %q", got)
	}
}

// A JSON line is the record exactly as encoding/json renders it.
func TestJSONLinesAreTheRendering(t *testing.T) {
	t.Parallel()
	recs := []any{record{ID: 1, Name: "a\nb <&>", Tags: []string{"x"}, Amount: "1.00"}, record{ID: 2, Name: "=x", Amount: "2.00"}}
	out := encode(t, export.NDJSON, recs...)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(recs) || !strings.HasSuffix(string(out), "\n") {
		t.Fatalf("lines %q", out)
	}
	for i, r := range recs {
		want, _ := json.Marshal(r)
		if lines[i] != string(want) {
			t.Errorf("line %d %s, want %s", i, lines[i], want)
		}
	}
}

// Unguard undoes Guard for every guarded start, and leaves any other text alone.
func TestGuardRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"=1+1", "+1", "-1", "@x", "\tx", "\rx", "plain", "", "'", "'plain", "x=1"} {
		g := export.Guard(s)
		guarded := s != "" && strings.ContainsAny(s[:1], "=+-@\t\r")
		if (guarded && g != "'"+s) || (!guarded && g != s) {
			t.Errorf("Guard(%q) = %q", s, g)
		}
		if u := export.Unguard(g); u != s {
			t.Errorf("Unguard(Guard(%q)) = %q", s, u)
		}
	}
}

// A record that does not render like the sample is refused rather than written under the
// wrong columns.
func TestRecordOfAnotherShapeIsRefused(t *testing.T) {
	t.Parallel()
	enc, err := export.NewEncoder(&bytes.Buffer{}, export.CSV, record{})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(struct {
		ID int `json:"id"`
	}{1}); err == nil {
		t.Fatal("a record of another shape was encoded")
	}
	if _, err := export.NewEncoder(&bytes.Buffer{}, "xml", record{}); err == nil {
		t.Fatal("an unknown format was accepted")
	}
}

// A row of cells becomes the create's JSON body: columns in order, absent cells left out,
// integers of integer columns as numbers (anything else there stays a string for the
// create's validation to refuse), lists split on ";", every other cell a string.
func TestRowIsTheCreateBodyOfItsCells(t *testing.T) {
	cells := map[string]string{"name": `Ann "A"`, "owner_id": "7", "contact_id": "07", "tags": "vip;new", "notes": ""}
	got := string(export.Row([]string{"name", "email", "owner_id", "contact_id", "tags", "notes"}, cells,
		[]string{"owner_id", "contact_id"}, []string{"tags"}))
	want := `{"name":"Ann \"A\"","owner_id":7,"contact_id":"07","tags":["vip","new"],"notes":""}`
	if got != want {
		t.Errorf("Row = %s, want %s", got, want)
	}
	if got := string(export.Row([]string{"name"}, map[string]string{}, nil, nil)); got != "{}" {
		t.Errorf("no cells: %s", got)
	}
}
