package contacts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/export"
	"github.com/mini-crm/crm/platform/web"
)

// An import creates contacts by the rules of POST /contacts, row by row: each row becomes the
// JSON body a client would send (an empty cell an absent field, tags split on ";"), which is
// decoded, trimmed and validated exactly as the handler binds a request (createRequest), and
// then checked for its owner as Create does. The valid rows are written many at a time: one
// INSERT per batch, and one statement per few thousand events; a batch the database refuses
// (an owner who is not a member: the foreign key Create maps to owner_not_member) is written
// again row by row under savepoints, so that each refused row is named.

// importBatch is how many contacts one INSERT of an import writes.
const importBatch = 1000

// Import columns that are not JSON strings in a create: integers and ";"-joined lists.
var (
	intColumns  = []string{"owner_id"}
	listColumns = []string{"tags"}
)

// rowErrors turns the refusal of a row's create into its import errors, one per field named,
// each under the field's column (tags[3] is the column tags).
func rowErrors(row int, err error, column func(code string) string) ([]contactsapi.ImportError, bool) {
	ae, ok := apperr.As(err)
	if !ok || ae.Kind == apperr.KindInternal || ae.Kind == apperr.KindUnavailable {
		return nil, false
	}
	if len(ae.Fields) == 0 {
		return []contactsapi.ImportError{{Row: row, Column: column(ae.Code), Code: ae.Code, Message: ae.Detail}}, true
	}
	out := make([]contactsapi.ImportError, 0, len(ae.Fields))
	for _, f := range ae.Fields {
		col, _, _ := strings.Cut(f.Field, "[")
		col, _, _ = strings.Cut(col, ".")
		out = append(out, contactsapi.ImportError{Row: row, Column: col, Code: ae.Code, Message: f.Field + " " + f.Message})
	}
	return out, true
}

// importColumnOf names the column of a refusal that names no field.
func importColumnOf(code string) string {
	if code == auth.ErrCreateForOther.Code {
		return "owner_id"
	}
	return ""
}

// checkImportRow applies the create rules that need no database to one row.
func checkImportRow(p auth.Principal, r contactsapi.ImportRow) (newContact, error) {
	var req createRequest
	if err := web.Decode(export.Row(contactsapi.ImportColumns, r.Cells, intColumns, listColumns), &req); err != nil {
		return newContact{}, err
	}
	web.TrimFields(&req)
	if err := web.Validate(&req); err != nil {
		return newContact{}, err
	}
	owner := p.UserID
	if req.OwnerID != nil {
		owner = *req.OwnerID
	}
	if err := ownership.CheckCreate(p, owner); err != nil {
		return newContact{}, err
	}
	return newContact{OwnerID: owner, Name: req.Name, Email: req.Email, Phone: req.Phone, Company: req.Company,
		JobTitle: req.JobTitle, Notes: req.Notes, Tags: normalizeTags(req.Tags)}, nil
}

// ImportContacts implements contactsapi.Contacts.
func (s *Service) ImportContacts(ctx context.Context, rows []contactsapi.ImportRow) (int, []contactsapi.ImportError, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return 0, nil, err
	}
	if !database.InTx(ctx) {
		return 0, nil, events.ErrNotInTx
	}
	var refused []contactsapi.ImportError
	valid := make([]newContact, 0, len(rows))
	lines := make([]int, 0, len(rows))
	for _, r := range rows {
		c, err := checkImportRow(p, r)
		if err != nil {
			errs, ok := rowErrors(r.Row, err, importColumnOf)
			if !ok {
				return 0, nil, err
			}
			refused = append(refused, errs...)
			continue
		}
		valid = append(valid, c)
		lines = append(lines, r.Row)
	}
	created := 0
	for start := 0; start < len(valid); start += importBatch {
		end := min(start+importBatch, len(valid))
		out, errs, err := s.insertImported(ctx, p.OrgID, valid[start:end], lines[start:end])
		if err != nil {
			return 0, nil, err
		}
		refused = append(refused, errs...)
		if err := s.recordCreated(ctx, out); err != nil {
			return 0, nil, err
		}
		created += len(out)
	}
	return created, refused, nil
}

// insertImported writes a batch in one statement; when the database refuses it, it writes the
// rows one by one, each under a savepoint, and reports the rows refused.
func (s *Service) insertImported(ctx context.Context, orgID int64, cs []newContact, lines []int) ([]contactRow, []contactsapi.ImportError, error) {
	q := s.db.Q(ctx)
	if _, err := q.Exec(ctx, "SAVEPOINT contacts_import_batch"); err != nil {
		return nil, nil, database.MapError(err)
	}
	out, err := s.store.insertMany(ctx, orgID, cs)
	if err == nil {
		_, err = q.Exec(ctx, "RELEASE SAVEPOINT contacts_import_batch")
		return out, nil, database.MapError(err)
	}
	if !refusedData(err) {
		return nil, nil, err
	}
	if _, rerr := q.Exec(ctx, "ROLLBACK TO SAVEPOINT contacts_import_batch"); rerr != nil {
		return nil, nil, database.MapError(rerr)
	}
	out = out[:0]
	var refused []contactsapi.ImportError
	for i, c := range cs {
		if _, err := q.Exec(ctx, "SAVEPOINT contacts_import_row"); err != nil {
			return nil, nil, database.MapError(err)
		}
		r, err := s.store.insert(ctx, orgID, c)
		if err != nil {
			if _, rerr := q.Exec(ctx, "ROLLBACK TO SAVEPOINT contacts_import_row"); rerr != nil {
				return nil, nil, database.MapError(rerr)
			}
			errs, ok := rowErrors(lines[i], err, importColumnOf)
			switch {
			case ok:
				refused = append(refused, errs...)
			case refusedData(err):
				refused = append(refused, contactsapi.ImportError{Row: lines[i], Code: "validation_failed",
					Message: "the row breaks a rule of the stored contacts (" + database.Constraint(err) + ")"})
			default:
				return nil, nil, err
			}
			continue
		}
		if _, err := q.Exec(ctx, "RELEASE SAVEPOINT contacts_import_row"); err != nil {
			return nil, nil, database.MapError(err)
		}
		out = append(out, r)
	}
	return out, refused, nil
}

// refusedData reports whether the database refused a write because of the data written (a
// constraint or an invalid value): a row's fault, not the database's.
func refusedData(err error) bool {
	code := database.PgCode(err)
	return strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23")
}

// manyRecorder is the outbox's batched recording (platform/events.Outbox.RecordMany).
type manyRecorder interface {
	RecordMany(ctx context.Context, cs []events.Change) error
}

// recordCreated writes the contact.created event of each contact, as Create does, in order.
func (s *Service) recordCreated(ctx context.Context, rows []contactRow) error {
	if s.outbox == nil || len(rows) == 0 {
		return nil
	}
	many, ok := s.outbox.(manyRecorder)
	if !ok {
		for _, r := range rows {
			if err := s.record(ctx, "contact.created", r, nil); err != nil {
				return err
			}
		}
		return nil
	}
	cs := make([]events.Change, len(rows))
	for i, r := range rows {
		cs[i] = events.Change{OrgID: r.OrganizationID, Type: "contact.created", Object: toJSON(r.contact())}
	}
	return many.RecordMany(ctx, cs)
}

// importedContact is a contact of a batch insert, as jsonb_to_recordset reads it.
type importedContact struct {
	OwnerID  int64    `json:"owner_id"`
	Name     string   `json:"name"`
	Email    *string  `json:"email"`
	Phone    *string  `json:"phone"`
	Company  *string  `json:"company"`
	JobTitle *string  `json:"job_title"`
	Notes    *string  `json:"notes"`
	Tags     []string `json:"tags"`
}

// insertMany inserts contacts in one statement and returns them in the order given.
func (s store) insertMany(ctx context.Context, orgID int64, cs []newContact) ([]contactRow, error) {
	in := make([]importedContact, len(cs))
	for i, c := range cs {
		in[i] = importedContact(c)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Q(ctx).Query(ctx, `INSERT INTO contacts (organization_id, owner_id, name, email, phone, company, job_title, notes, tags)
		SELECT $1, r.owner_id, r.name, r.email, r.phone, r.company, r.job_title, r.notes, r.tags
		FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (owner_id bigint, name text, email text, phone text, company text,
			job_title text, notes text, tags text[])) WITH ORDINALITY AS r(owner_id, name, email, phone, company, job_title, notes, tags, n)
		ORDER BY r.n `+returning, orgID, string(raw))
	if err != nil {
		return nil, fmt.Errorf("insert contacts: %w", mapWriteError(database.MapError(err)))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[contactRow])
	if err != nil {
		return nil, fmt.Errorf("insert contacts: %w", mapWriteError(database.MapError(err)))
	}
	slices.SortFunc(out, func(a, b contactRow) int { return int(a.ID - b.ID) })
	return out, nil
}

// ContactIDsByEmail implements contactsapi.Contacts. Contacts in the trash are not seen (the
// contacts' row-level security hides them from every statement that does not include them).
func (s *Service) ContactIDsByEmail(ctx context.Context, orgID int64, emails []string) (map[string][]int64, error) {
	out := map[string][]int64{}
	if len(emails) == 0 {
		return out, nil
	}
	keys := make([]string, len(emails))
	byKey := map[string][]string{}
	for i, e := range emails {
		keys[i] = strings.ToLower(strings.TrimSpace(e))
		byKey[keys[i]] = append(byKey[keys[i]], e)
	}
	rows, err := s.db.Q(ctx).Query(ctx, `SELECT lower(btrim(email)), id FROM contacts
		WHERE organization_id = $1 AND lower(btrim(email)) = ANY($2::text[]) ORDER BY id`, orgID, keys)
	if err != nil {
		return nil, database.MapError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var id int64
		if err := rows.Scan(&key, &id); err != nil {
			return nil, database.MapError(err)
		}
		for _, e := range byKey[key] {
			out[e] = append(out[e], id)
		}
	}
	return out, database.MapError(rows.Err())
}
