package contactsapi

// ImportColumns are the columns a CSV import of contacts takes: exactly the fields of a
// create (POST /contacts). tags holds the tags joined with ";".
var ImportColumns = []string{"name", "email", "phone", "company", "job_title", "notes", "tags", "owner_id"}

// ImportRow is one data row of an import: Row is its number (1 for the first row after the
// header) and Cells its non-empty cells by column, as the file has them. A column absent from
// Cells is a field absent from the create.
type ImportRow struct {
	Row   int
	Cells map[string]string
}

// ImportError is a rule a row of an import breaks: the column, and the code and sentence the
// API gives the same mistake in a create.
type ImportError struct {
	Row     int
	Column  string
	Code    string
	Message string
}
