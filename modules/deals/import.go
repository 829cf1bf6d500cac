package deals

import (
	"context"
	"strings"
	"time"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/export"
	"github.com/mini-crm/crm/platform/web"
)

// An import creates deals by the rules of POST /deals, row by row: each row becomes the JSON
// body a client would send (an empty cell an absent field), decoded, trimmed and validated as
// the handler binds a request (createRequest), and then created by Create itself, under a
// savepoint, so that everything a create writes (the deal.created event, the timeline's
// deal_created entry, the stage history, the analytics read model) is written the same way,
// and a row Create refuses leaves nothing behind while the rows after it are still checked.

// importIntColumns are the import columns holding integers (JSON numbers in a create).
var importIntColumns = []string{"contact_id", "owner_id", "probability", "pipeline_id"}

// importColumns names the column of the refusals that name no field.
var importColumns = map[string]string{
	contactsapi.ErrContactNotFound.Code:   "contact_id",
	auth.ErrCreateForOther.Code:           "owner_id",
	pipelinesapi.ErrPipelineNotFound.Code: "pipeline_id",
	ErrWonRequiresPositiveAmount.Code:     "amount",
}

// importErrors turns the refusal of a row's create into its import errors, one per field
// named, each under the field's column; ok is false for a failure that is no rule (the
// database unreachable), which fails the whole import instead.
func importErrors(row int, err error) ([]dealsapi.ImportError, bool) {
	ae, ok := apperr.As(err)
	if !ok || ae.Kind == apperr.KindInternal || ae.Kind == apperr.KindUnavailable {
		return nil, false
	}
	if len(ae.Fields) == 0 {
		return []dealsapi.ImportError{{Row: row, Column: importColumns[ae.Code], Code: ae.Code, Message: ae.Detail}}, true
	}
	out := make([]dealsapi.ImportError, 0, len(ae.Fields))
	for _, f := range ae.Fields {
		col, _, _ := strings.Cut(f.Field, "[")
		col, _, _ = strings.Cut(col, ".")
		out = append(out, dealsapi.ImportError{Row: row, Column: col, Code: ae.Code, Message: f.Field + " " + f.Message})
	}
	return out, true
}

// importDeal binds one row as the create handler binds a request body.
func importDeal(r dealsapi.ImportRow, loc *time.Location) (NewDeal, error) {
	var req createRequest
	if err := web.Decode(export.Row(dealsapi.ImportColumns, r.Cells, importIntColumns, nil), &req); err != nil {
		return NewDeal{}, err
	}
	web.TrimFields(&req)
	if err := web.Validate(&req); err != nil {
		return NewDeal{}, err
	}
	var closeOn *time.Time
	if req.ExpectedCloseDate != nil && !req.ExpectedCloseDate.IsZero() {
		t := req.ExpectedCloseDate.In(loc).Time()
		closeOn = &t
	}
	return NewDeal{ContactID: req.ContactID, Title: req.Title, Amount: *req.Amount, Currency: req.Currency, Status: req.Status,
		Stage: req.Stage, OwnerID: req.OwnerID, LostReason: req.LostReason, ExpectedCloseDate: closeOn,
		Probability: req.Probability, PipelineID: req.PipelineID}, nil
}

// ImportDeals implements dealsapi.Deals.
func (s *Service) ImportDeals(ctx context.Context, rows []dealsapi.ImportRow) (int, []dealsapi.ImportError, error) {
	if _, err := auth.TenantCaller(ctx); err != nil {
		return 0, nil, err
	}
	if !database.InTx(ctx) {
		return 0, nil, events.ErrNotInTx
	}
	loc, err := s.Location(ctx)
	if err != nil {
		return 0, nil, err
	}
	q := s.db.Q(ctx)
	created := 0
	var refused []dealsapi.ImportError
	refuse := func(row int, err error) error {
		errs, ok := importErrors(row, err)
		if !ok {
			return err
		}
		refused = append(refused, errs...)
		return nil
	}
	for _, r := range rows {
		in, err := importDeal(r, loc)
		if err != nil {
			if err := refuse(r.Row, err); err != nil {
				return 0, nil, err
			}
			continue
		}
		if _, err := q.Exec(ctx, "SAVEPOINT deals_import_row"); err != nil {
			return 0, nil, database.MapError(err)
		}
		if _, err := s.Create(ctx, in); err != nil {
			if _, rerr := q.Exec(ctx, "ROLLBACK TO SAVEPOINT deals_import_row"); rerr != nil {
				return 0, nil, database.MapError(rerr)
			}
			if err := refuse(r.Row, err); err != nil {
				return 0, nil, err
			}
			continue
		}
		if _, err := q.Exec(ctx, "RELEASE SAVEPOINT deals_import_row"); err != nil {
			return 0, nil, database.MapError(err)
		}
		created++
	}
	return created, refused, nil
}
