package imports

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/export"
)

// Types of import.
const (
	TypeContacts = "contacts"
	TypeDeals    = "deals"
)

// Statuses of an import.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Limits of imports.
const (
	// MaxBody is the largest file an import takes.
	MaxBody = 50 << 20
	// MaxQueued is how many imports of an organization may wait at once; one more is 429.
	MaxQueued = 5
	// MaxListedErrors is how many errors an import lists (error_count counts them all).
	MaxListedErrors = 1000
	// RetryAfter is the wait a 429 suggests: roughly what an import of a few thousand rows takes.
	RetryAfter = 10 * time.Second
)

// contactEmail is the deals column naming the contact by its email instead of its id.
const contactEmail = "contact_email"

// Codes of the errors an import reports besides those of the create rules.
const (
	codeUnknownColumn    = "unknown_column"
	codeDuplicateColumn  = "duplicate_column"
	codeMissingColumn    = "missing_column"
	codeEmptyFile        = "empty_file"
	codeMalformedCSV     = "malformed_csv"
	codeWrongColumnCount = "wrong_column_count"
	codeInvalidText      = "invalid_text"
	codeContactAmbiguous = "contact_email_ambiguous"
	codeBothContacts     = "validation_failed"
	codeAccessRevoked    = "access_revoked"
	codeImportFailed     = "import_failed"
)

// Errors of the routes.
var (
	ErrImportNotFound = apperr.NotFound("import_not_found", "no import with this id exists in the organization")
	ErrTooManyImports = apperr.New(apperr.KindTooManyRequests, "too_many_imports",
		fmt.Sprintf("the organization already has %d imports waiting to run; wait for one to start, then send this one again", MaxQueued))
	errInvalidType = apperr.InvalidField("invalid_query", "type", "must be one of: contacts, deals",
		"type must be one of: contacts, deals")
	errInvalidDryRun = apperr.InvalidField("invalid_query", "dry_run", "must be one of: true, false",
		"dry_run must be one of: true, false")
	ErrEmptyBody = apperr.Invalid("empty_file", "the request body is empty; send the CSV file, its header row first")
)

// RowError is a problem of one row (0: the header row, or the file as a whole), in a column
// when it is about one.
type RowError struct {
	Row     int     `json:"row"`
	Column  *string `json:"column"`
	Code    string  `json:"code"`
	Message string  `json:"message"`
}

func rowError(row int, column, code, message string) RowError {
	e := RowError{Row: row, Code: code, Message: message}
	if column != "" {
		e.Column = &column
	}
	return e
}

// columnsOf lists the columns an import of typ takes: the create fields of the type, and for
// deals contact_email as another way to name the contact.
func columnsOf(typ string) []string {
	if typ == TypeDeals {
		return append(slices.Clone(dealsapi.ImportColumns), contactEmail)
	}
	return contactsapi.ImportColumns
}

// checkHeader checks the header row: every column one of the type's, none twice, and those a
// create requires present (for deals, contact_id or contact_email).
func checkHeader(typ string, header []string) []RowError {
	allowed := columnsOf(typ)
	var errs []RowError
	seen := map[string]bool{}
	for _, name := range header {
		switch {
		case !utf8.ValidString(name) || strings.ContainsRune(name, 0):
			errs = append(errs, rowError(0, "", codeInvalidText, "a column name is not valid UTF-8 text"))
		case !slices.Contains(allowed, name):
			errs = append(errs, rowError(0, name, codeUnknownColumn, fmt.Sprintf("%q is not a column of a %s import; the columns are the fields of a create: %s",
				name, typ, strings.Join(allowed, ", "))))
		case seen[name]:
			errs = append(errs, rowError(0, name, codeDuplicateColumn, fmt.Sprintf("the column %s appears more than once", name)))
		}
		seen[name] = true
	}
	required := []string{"name"}
	if typ == TypeDeals {
		required = []string{"title", "amount"}
		if !seen["contact_id"] && !seen[contactEmail] {
			errs = append(errs, rowError(0, "contact_id", codeMissingColumn, "a deals import needs a contact_id or a contact_email column"))
		}
	}
	for _, name := range required {
		if !seen[name] {
			errs = append(errs, rowError(0, name, codeMissingColumn, fmt.Sprintf("the column %s is required: every %s has one", name, strings.TrimSuffix(typ, "s"))))
		}
	}
	return errs
}

// utf8BOM starts files saved by some spreadsheets; it is not part of the first column's name.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// newReader reads the CSV of body: RFC 4180, CRLF or LF line ends, a leading BOM skipped.
func newReader(body []byte) *csv.Reader {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, utf8BOM)))
	r.FieldsPerRecord = -1 // checked here, so that every short or long row is named
	r.ReuseRecord = true
	return r
}

// csvError turns a parse error of the reader into the row it stopped at.
func csvError(row int, err error) RowError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		what := "the file is not valid CSV"
		switch {
		case errors.Is(pe.Err, csv.ErrQuote):
			what = "a quoted cell is not closed, or a quote inside it is not doubled"
		case errors.Is(pe.Err, csv.ErrBareQuote):
			what = `a cell holds a quote (") without being quoted itself; quote the cell and double the quote`
		}
		return rowError(row, "", codeMalformedCSV, fmt.Sprintf("%s (line %d of the file); nothing after it was read", what, pe.Line))
	}
	return rowError(row, "", codeMalformedCSV, "the file could not be read as CSV: "+err.Error())
}

// cellValue is a cell as the field receives it: the ' an export puts before a cell that a
// spreadsheet would run as a formula (=, +, -, @, tab, CR) stripped again, so that an
// exported file imports back unchanged; a ' before anything else stays.
func cellValue(s string) string { return export.Unguard(s) }

// scan is the first pass over a file: its header, its number of data rows, and every
// problem of its form (a row with another number of cells than the header, a cell that is not
// UTF-8 text, CSV that cannot be read, which ends the pass).
type scan struct {
	header []string
	rows   int
	errs   []RowError
}

// scanFile reads the whole file once without keeping its rows.
func scanFile(typ string, body []byte) scan {
	var s scan
	r := newReader(body)
	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		s.errs = append(s.errs, rowError(0, "", codeEmptyFile, "the file is empty; its first row must name the columns"))
		return s
	}
	if err != nil {
		s.errs = append(s.errs, csvError(0, err))
		return s
	}
	s.header = make([]string, len(head))
	for i, h := range head {
		s.header[i] = strings.TrimSpace(h)
	}
	s.errs = append(s.errs, checkHeader(typ, s.header)...)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		row := s.rows + 1
		if err != nil {
			s.errs = append(s.errs, csvError(row, err))
			break
		}
		s.rows = row
		if len(rec) != len(s.header) {
			s.errs = append(s.errs, rowError(row, "", codeWrongColumnCount,
				fmt.Sprintf("the row has %d cells and the header %d columns", len(rec), len(s.header))))
			continue
		}
		for i, v := range rec {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				s.errs = append(s.errs, rowError(row, s.header[i], codeInvalidText,
					s.header[i]+" is not valid UTF-8 text (save the file as UTF-8) or holds a NUL character"))
			}
		}
	}
	return s
}

// rows reads the data rows of a file that scanFile found well formed, n at a time: each row
// its number and its non-empty cells by column.
type rowReader struct {
	r      *csv.Reader
	header []string
	next   int
}

func readRows(body []byte, header []string) (*rowReader, error) {
	r := newReader(body)
	if _, err := r.Read(); err != nil {
		return nil, err
	}
	return &rowReader{r: r, header: header, next: 1}, nil
}

// chunk returns up to n more rows; none at the end of the file.
func (rr *rowReader) chunk(n int) ([]map[string]string, []int, error) {
	var cells []map[string]string
	var rows []int
	for len(cells) < n {
		rec, err := rr.r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		m := make(map[string]string, len(rec))
		for i, v := range rec {
			if v != "" {
				m[rr.header[i]] = cellValue(v)
			}
		}
		cells = append(cells, m)
		rows = append(rows, rr.next)
		rr.next++
	}
	return cells, rows, nil
}
