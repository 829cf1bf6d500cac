// Package export writes records as CSV (RFC 4180, header row, CRLF line ends) or JSON Lines,
// one record at a time, so that an export of any size holds one record in memory. A record
// is given as the value its GET route renders (a struct marshalled by encoding/json): a JSON
// line is exactly that rendering, and the CSV columns are its fields in the order it renders
// them, derived from the rendering itself, so that the two formats cannot drift from the API.
//
// CSV cells:
//   - a string is its text; a number or a boolean its JSON literal; null is an empty cell;
//   - an array of strings, numbers or booleans is its elements joined by ";" (how the
//     import reads tags); an empty array is an empty cell;
//   - an object, or an array holding objects, arrays or nulls, is its compact JSON text;
//   - line breaks inside a cell (LF, CRLF or a lone CR) are written as CRLF, as RFC 4180
//     has them (a CSV reader may give them back as LF; JSON Lines keeps text byte for byte);
//   - the formula guard: a cell starting with "=", "+", "-", "@", a tab or a carriage
//     return gets a leading "'", so that a spreadsheet shows it as text instead of running
//     it; the import strips that "'" again (Unguard).
//
// The package knows nothing of HTTP; platform/web streams its output.
package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Format is an export's file format.
type Format string

const (
	CSV    Format = "csv"
	NDJSON Format = "ndjson"
)

// Formats are the formats, the default first.
var Formats = []Format{CSV, NDJSON}

// MediaType is the format's media type, as sent in Content-Type.
func (f Format) MediaType() string {
	if f == NDJSON {
		return "application/x-ndjson"
	}
	return "text/csv"
}

// Extension is the file name extension of the format.
func (f Format) Extension() string { return string(f) }

// ParseFormat returns the format named s (csv or ndjson).
func ParseFormat(s string) (Format, bool) {
	for _, f := range Formats {
		if string(f) == s {
			return f, true
		}
	}
	return "", false
}

// guarded are the first characters that make a spreadsheet read a cell as a formula.
const guarded = "=+-@\t\r"

// Guard prefixes cell with "'" when it starts with a character that would make a
// spreadsheet run it as a formula.
func Guard(cell string) string {
	if cell != "" && strings.IndexByte(guarded, cell[0]) >= 0 {
		return "'" + cell
	}
	return cell
}

// Unguard undoes Guard: it strips a "'" that stands before a guarded character.
func Unguard(cell string) string {
	if len(cell) >= 2 && cell[0] == '\'' && strings.IndexByte(guarded, cell[1]) >= 0 {
		return cell[1:]
	}
	return cell
}

// Row is the reverse of an export's CSV cells for an import: the JSON object of the create
// request a row of cells stands for, with the members in the order of columns (a column
// without a cell is absent), a cell of a column in ints that is an integer as a JSON number,
// a cell of a column in lists as the array of its ";"-separated parts, and any other cell as
// a JSON string, so that the create's own decoding and validation judge it.
func Row(columns []string, cells map[string]string, ints, lists []string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for _, col := range columns {
		v, ok := cells[col]
		if !ok {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(col)
		b.Write(k)
		b.WriteByte(':')
		switch {
		case slices.Contains(lists, col):
			j, _ := json.Marshal(strings.Split(v, ";"))
			b.Write(j)
		case slices.Contains(ints, col) && isInteger(v):
			b.WriteString(v)
		default:
			j, _ := json.Marshal(v)
			b.Write(j)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// isInteger reports whether s is an integer JSON would take as a number.
func isInteger(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == s
}

// Encoder writes the records of one export in one format.
type Encoder struct {
	format  Format
	buf     *bufio.Writer
	csv     *csv.Writer
	columns []string
	cells   []string
	fields  []field // reused by every record
	header  bool    // the CSV header row is written
	rows    int64
}

// bufferSize is what an encoder gathers before it writes to its writer.
const bufferSize = 32 << 10

// NewEncoder returns an encoder of records like sample (the zero value of the rendering is
// fine: its fields name the CSV columns) writing to w. Nothing is written before the first
// record or Close.
func NewEncoder(w io.Writer, f Format, sample any) (*Encoder, error) {
	e := &Encoder{format: f, buf: bufio.NewWriterSize(w, bufferSize)}
	if f != CSV && f != NDJSON {
		return nil, fmt.Errorf("export: unknown format %q", f)
	}
	if f == CSV {
		raw, err := json.Marshal(sample)
		if err != nil {
			return nil, fmt.Errorf("export: render sample: %w", err)
		}
		fields, err := splitObject(raw, nil)
		if err != nil {
			return nil, err
		}
		for _, fl := range fields {
			e.columns = append(e.columns, string(fl.name))
		}
		e.cells = make([]string, len(e.columns))
		e.csv = csv.NewWriter(e.buf)
		e.csv.UseCRLF = true
	}
	return e, nil
}

// Columns are the CSV columns (nil for JSON Lines).
func (e *Encoder) Columns() []string { return slices.Clone(e.columns) }

// Rows is the number of records encoded so far.
func (e *Encoder) Rows() int64 { return e.rows }

// Encode writes one record: v rendered by encoding/json, as its GET route renders it.
func (e *Encoder) Encode(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("export: render record: %w", err)
	}
	if e.format == NDJSON {
		if _, err := e.buf.Write(raw); err != nil {
			return err
		}
		if err := e.buf.WriteByte('\n'); err != nil {
			return err
		}
		e.rows++
		return nil
	}
	fields, err := splitObject(raw, e.fields)
	if err != nil {
		return err
	}
	e.fields = fields
	if len(fields) != len(e.columns) {
		return fmt.Errorf("export: record has %d fields, the header %d", len(fields), len(e.columns))
	}
	for i, f := range fields {
		if string(f.name) != e.columns[i] {
			return fmt.Errorf("export: field %d is %q, the header says %q", i, f.name, e.columns[i])
		}
		if e.cells[i], err = cell(f.value); err != nil {
			return fmt.Errorf("export: field %s: %w", f.name, err)
		}
	}
	if err := e.writeHeader(); err != nil {
		return err
	}
	if err := e.csv.Write(e.cells); err != nil {
		return err
	}
	e.rows++
	return nil
}

func (e *Encoder) writeHeader() error {
	if e.header {
		return nil
	}
	e.header = true
	return e.csv.Write(e.columns)
}

// Flush writes what the encoder has gathered to its writer.
func (e *Encoder) Flush() error {
	if e.csv != nil {
		e.csv.Flush()
		if err := e.csv.Error(); err != nil {
			return err
		}
	}
	return e.buf.Flush()
}

// Close ends the export: a CSV export without records still has its header row. It
// flushes; it does not close the underlying writer.
func (e *Encoder) Close() error {
	if e.format == CSV {
		if err := e.writeHeader(); err != nil {
			return err
		}
	}
	return e.Flush()
}

type field struct {
	name  []byte // the member's name, unquoted (field names need no escapes)
	value []byte // its value, raw JSON
}

var errNotObject = errors.New("export: a record must render as a JSON object")

// splitObject returns the members of a JSON object in their order, appended to out[:0]. raw
// is encoding/json's output (compact, valid); the scan only finds where each member starts
// and ends.
func splitObject(raw []byte, out []field) ([]field, error) {
	out = out[:0]
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, errNotObject
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return out, nil
	}
	for i < len(raw) {
		if raw[i] != '"' {
			return nil, errNotObject
		}
		end, err := scanString(raw, i)
		if err != nil {
			return nil, err
		}
		name := raw[i+1 : end-1]
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return nil, errNotObject
		}
		i = skipSpace(raw, i+1)
		vend, err := scanValue(raw, i)
		if err != nil {
			return nil, err
		}
		out = append(out, field{name: name, value: raw[i:vend]})
		i = skipSpace(raw, vend)
		if i >= len(raw) {
			break
		}
		if raw[i] == '}' {
			return out, nil
		}
		if raw[i] != ',' {
			return nil, errNotObject
		}
		i = skipSpace(raw, i+1)
	}
	return nil, errNotObject
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the end (exclusive) of the JSON string starting at b[i] == '"'.
func scanString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errNotObject
}

// scanValue returns the end (exclusive) of the JSON value starting at b[i].
func scanValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errNotObject
	}
	switch b[i] {
	case '"':
		return scanString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := scanString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errNotObject
	}
	j := i // a number, true, false or null
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' {
		j++
	}
	return j, nil
}

// cell renders one JSON value as a CSV cell (see the package documentation).
func cell(v []byte) (string, error) {
	s, err := plain(v)
	return text(s), err
}

// plain is the text of a JSON value in a cell, before the guard.
func plain(v []byte) (string, error) {
	if len(v) == 0 {
		return "", nil
	}
	switch v[0] {
	case 'n':
		return "", nil
	case '"':
		if bytes.IndexByte(v, '\\') < 0 {
			return string(v[1 : len(v)-1]), nil
		}
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case '[':
		var parts []string
		i := skipSpace(v, 1)
		for i < len(v) && v[i] != ']' {
			end, err := scanValue(v, i)
			if err != nil {
				return "", err
			}
			it := v[i:end]
			if len(it) == 0 || it[0] == '{' || it[0] == '[' || it[0] == 'n' {
				return string(v), nil // not a list of plain values: its JSON
			}
			p, err := plain(it)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
			i = skipSpace(v, end)
			if i < len(v) && v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
		return strings.Join(parts, ";"), nil
	}
	return string(v), nil // an object (its JSON text), a number or a boolean (its literal)
}

// text applies the formula guard and makes every line break a CRLF: encoding/csv, asked
// for CRLF line ends, writes an LF inside a cell as CRLF but drops a lone CR.
func text(s string) string {
	s = Guard(s)
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	return s
}
