package imports

import (
	"encoding/json"

	"github.com/mini-crm/crm/platform/web"
)

// importJSON is an import as GET /imports/{id} and the list render it.
type importJSON struct {
	ID            int64           `json:"id"`
	Type          string          `json:"type"`
	DryRun        bool            `json:"dry_run"`
	Status        string          `json:"status"`
	TotalRows     *int            `json:"total_rows"`
	ProcessedRows int             `json:"processed_rows"`
	Created       int             `json:"created"`
	ErrorCount    int             `json:"error_count"`
	Errors        json.RawMessage `json:"errors"`
	CreatedAt     web.Time        `json:"created_at"`
	FinishedAt    *web.Time       `json:"finished_at"`
}

func toJSON(i Import) importJSON {
	out := importJSON{ID: i.ID, Type: i.Type, DryRun: i.DryRun, Status: i.Status, TotalRows: i.TotalRows,
		ProcessedRows: i.ProcessedRows, Created: i.Created, ErrorCount: i.ErrorCount, Errors: i.Errors,
		CreatedAt: web.Time(i.CreatedAt)}
	if len(out.Errors) == 0 {
		out.Errors = json.RawMessage("[]")
	}
	if i.FinishedAt != nil {
		t := web.Time(*i.FinishedAt)
		out.FinishedAt = &t
	}
	return out
}

// acceptedJSON is the answer of POST /imports: the import as queued.
type acceptedJSON struct {
	ID     int64  `json:"id"`
	Type   string `json:"type"`
	DryRun bool   `json:"dry_run"`
	Status string `json:"status"`
}
