package dealsapi

// ImportColumns are the columns a CSV import of deals hands the deals module: exactly the
// fields of a create (POST /deals). (The import also takes contact_email, which it resolves
// to a contact_id itself.)
var ImportColumns = []string{"contact_id", "title", "amount", "currency", "status", "stage", "owner_id", "lost_reason",
	"expected_close_date", "probability", "pipeline_id"}

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
