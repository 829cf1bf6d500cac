package imports

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/queue"
)

// Contacts is what this module uses of the contacts facade.
type Contacts interface {
	ImportContacts(ctx context.Context, rows []contactsapi.ImportRow) (int, []contactsapi.ImportError, error)
	ContactIDsByEmail(ctx context.Context, orgID int64, emails []string) (map[string][]int64, error)
}

// Deals is what this module uses of the deals facade.
type Deals interface {
	ImportDeals(ctx context.Context, rows []dealsapi.ImportRow) (int, []dealsapi.ImportError, error)
}

// Keys re-checks the API key an import was sent with (apikeysapi.Keys).
type Keys interface {
	ActingRole(ctx context.Context, orgID, keyID int64) (string, error)
}

// Service implements the import use cases and runs the import jobs.
type Service struct {
	db          *database.DB
	store       store
	queue       *queue.Queue
	contacts    Contacts
	deals       Deals
	memberships auth.Memberships
	keys        Keys
	// progressEvery is how often a running import records how far it has come.
	progressEvery time.Duration
}

// Create stores an import of typ with its file and enqueues its job, in the transaction of
// the request. Any member may import; the rows are checked when the job runs. An
// organization with MaxQueued imports waiting gets ErrTooManyImports.
func (s *Service) Create(ctx context.Context, typ string, dryRun bool, body []byte) (Import, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Import{}, err
	}
	if len(body) == 0 {
		return Import{}, ErrEmptyBody
	}
	in := newImport{Type: typ, DryRun: dryRun, CreatedBy: p.UserID, Body: body}
	if p.KeyID != 0 {
		key := p.KeyID
		in.APIKeyID = &key
	}
	var imp Import
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.lockSubmissions(ctx, p.OrgID); err != nil {
			return err
		}
		n, err := s.store.countQueued(ctx, p.OrgID)
		if err != nil {
			return err
		}
		if n >= MaxQueued {
			return ErrTooManyImports.After(RetryAfter)
		}
		if imp, err = s.store.insert(ctx, p.OrgID, in); err != nil {
			return err
		}
		return s.queue.Enqueue(ctx, RunArgs{OrgID: p.OrgID, ImportID: imp.ID}, nil)
	})
	return imp, err
}

// Get returns one import of the organization.
func (s *Service) Get(ctx context.Context, id int64) (Import, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Import{}, err
	}
	return s.store.get(ctx, p.OrgID, id)
}

// List returns a page of the organization's imports, newest first.
func (s *Service) List(ctx context.Context, w listing.Window) (database.Result[Import], error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return database.Result[Import]{}, err
	}
	return s.store.list(ctx, p.OrgID, w)
}

// errBusy makes the job wait: another import of the organization is running.
var errBusy = errors.New("imports: another import of the organization is running")

// errDone ends the transaction of an import that wrote nothing to keep (a dry run, a failure).
var errDone = errors.New("imports: roll back")

// chunkOf is how many rows are handed to the facade at a time, between progress records.
func chunkOf(typ string) int {
	if typ == TypeDeals {
		return 200
	}
	return 2000
}

// run works one import: it takes the organization's running slot, re-checks the sender's
// access, reads the file and creates its rows in one transaction, which commits only when
// every row passed and the import is no dry run. Progress is recorded from another
// connection as it goes, so that readers see it while the transaction is open.
func (s *Service) run(ctx context.Context, orgID, id int64) error {
	base := database.WithTenant(ctx, orgID)
	imp, err := s.store.get(base, orgID, id)
	if errors.Is(err, ErrImportNotFound) {
		return river.JobCancel(err) // erased with its organization
	}
	if err != nil {
		return err
	}
	if imp.FinishedAt != nil {
		return nil // a rerun after the outcome had committed
	}
	acting, err := s.actingAs(base, imp)
	if refusal, ok := accessRefused(err); ok {
		return s.store.finish(base, orgID, id, outcome{Status: StatusFailed, ErrorCount: 1, Errors: []RowError{rowError(0, "", codeAccessRevoked,
			"the import was not run: its sender can no longer create records in the organization ("+refusal+")")}})
	}
	if err != nil {
		return err
	}
	var result outcome
	err = s.db.WithinTx(acting, func(ctx context.Context) error {
		ok, err := s.store.tryLockRunning(ctx, orgID)
		if err != nil {
			return err
		}
		if !ok {
			return errBusy
		}
		if err := s.store.start(base, orgID, id); err != nil {
			return err
		}
		body, found, err := s.store.file(ctx, orgID, id)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("imports: the file of import %d is gone", id)
		}
		result, err = s.process(ctx, base, imp, body)
		if err != nil {
			return err
		}
		if result.Status == StatusFailed || imp.DryRun {
			return errDone
		}
		// The outcome commits with the records: a reader never sees a success without them.
		return s.store.finish(ctx, orgID, id, result)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errBusy):
		return river.JobSnooze(2 * time.Second)
	case errors.Is(err, errDone):
		if imp.DryRun {
			result.Created = 0
		}
		return s.store.finish(base, orgID, id, result)
	}
	return err
}

// fail records that an import could not be run at all (its job gave up).
func (s *Service) fail(ctx context.Context, orgID, id int64) error {
	ctx = database.WithTenant(ctx, orgID)
	return s.store.finish(ctx, orgID, id, outcome{Status: StatusFailed, ErrorCount: 1, Errors: []RowError{
		rowError(0, "", codeImportFailed, "the import could not be completed because of a failure on our side; nothing was written, send it again")}})
}

// accessRefused reports whether err is the refusal of the sender's access (a member who
// left, a key revoked or expired), with its sentence.
func accessRefused(err error) (string, bool) {
	ae, ok := apperr.As(err)
	if !ok || (ae.Kind != apperr.KindUnauthenticated && ae.Kind != apperr.KindForbidden) {
		return "", false
	}
	return ae.Detail, true
}

// actingAs returns ctx acting as the import's sender with their access as it is now: the
// member's current role, or the key's (a removed member, a revoked or expired key fail).
func (s *Service) actingAs(ctx context.Context, imp Import) (context.Context, error) {
	p := auth.Principal{UserID: imp.CreatedBy, OrgID: imp.OrgID}
	if imp.APIKeyID != nil {
		role, err := s.keys.ActingRole(ctx, imp.OrgID, *imp.APIKeyID)
		if err != nil {
			return nil, err
		}
		p.Role, p.KeyID = auth.Role(role), *imp.APIKeyID
	} else {
		role, err := s.memberships.RoleOf(database.WithUser(ctx, imp.CreatedBy), imp.OrgID, imp.CreatedBy)
		if err != nil {
			return nil, err
		}
		p.Role = role
	}
	ctx = auth.WithPrincipal(ctx, p)
	ctx = database.WithUser(ctx, p.UserID)
	if p.KeyID != 0 {
		ctx = database.WithAPIKey(ctx, p.KeyID)
	}
	return ctx, nil
}

// tally collects an import's errors: all of them counted, the first MaxListedErrors kept.
type tally struct {
	count int
	errs  []RowError
}

func (t *tally) add(errs ...RowError) {
	t.count += len(errs)
	for _, e := range errs {
		if len(t.errs) < MaxListedErrors {
			t.errs = append(t.errs, e)
		}
	}
}

// process checks and creates the rows of body in the transaction of ctx (acting as the
// sender); progress is recorded through base, outside that transaction.
func (s *Service) process(ctx, base context.Context, imp Import, body []byte) (outcome, error) {
	var t tally
	sc := scanFile(imp.Type, body)
	total := sc.rows
	if len(sc.errs) > 0 {
		t.add(sc.errs...)
		return outcome{Status: StatusFailed, Total: &total, ErrorCount: t.count, Errors: t.errs}, nil
	}
	if err := s.store.progress(base, imp.OrgID, imp.ID, &total, 0); err != nil {
		return outcome{}, err
	}
	rr, err := readRows(body, sc.header)
	if err != nil {
		return outcome{}, err
	}
	processed, created := 0, 0
	last := time.Now()
	for {
		cells, rows, err := rr.chunk(chunkOf(imp.Type))
		if err != nil {
			return outcome{}, err
		}
		if len(cells) == 0 {
			break
		}
		n, errs, err := s.create(ctx, imp, cells, rows)
		if err != nil {
			return outcome{}, err
		}
		slices.SortStableFunc(errs, func(a, b RowError) int { return cmp.Compare(a.Row, b.Row) })
		t.add(errs...)
		created += n
		processed += len(cells)
		if time.Since(last) >= s.progressEvery {
			if err := s.store.progress(base, imp.OrgID, imp.ID, nil, processed); err != nil {
				return outcome{}, err
			}
			last = time.Now()
		}
	}
	o := outcome{Status: StatusSucceeded, Total: &total, Processed: processed, Created: created, ErrorCount: t.count, Errors: t.errs}
	if t.count > 0 {
		o.Status, o.Created = StatusFailed, 0
	}
	return o, nil
}

// create hands one chunk of rows to the module that owns the type.
func (s *Service) create(ctx context.Context, imp Import, cells []map[string]string, rows []int) (int, []RowError, error) {
	var out []RowError
	if imp.Type == TypeContacts {
		in := make([]contactsapi.ImportRow, len(cells))
		for i := range cells {
			in[i] = contactsapi.ImportRow{Row: rows[i], Cells: cells[i]}
		}
		n, errs, err := s.contacts.ImportContacts(ctx, in)
		for _, e := range errs {
			out = append(out, rowError(e.Row, e.Column, e.Code, e.Message))
		}
		return n, out, err
	}
	in, refused, err := s.resolveContacts(ctx, imp.OrgID, cells, rows)
	if err != nil {
		return 0, nil, err
	}
	n, errs, err := s.deals.ImportDeals(ctx, in)
	out = append(out, refused...)
	for _, e := range errs {
		out = append(out, rowError(e.Row, e.Column, e.Code, e.Message))
	}
	return n, out, err
}

// resolveContacts replaces each row's contact_email by the id of the one live contact with
// that email; a row naming no such contact, or several, or both an email and an id, is refused.
func (s *Service) resolveContacts(ctx context.Context, orgID int64, cells []map[string]string, rows []int) ([]dealsapi.ImportRow, []RowError, error) {
	var emails []string
	for _, c := range cells {
		if e, ok := c[contactEmail]; ok {
			emails = append(emails, e)
		}
	}
	ids, err := s.contacts.ContactIDsByEmail(ctx, orgID, emails)
	if err != nil {
		return nil, nil, err
	}
	var refused []RowError
	in := make([]dealsapi.ImportRow, 0, len(cells))
	for i, c := range cells {
		email, ok := c[contactEmail]
		if !ok {
			in = append(in, dealsapi.ImportRow{Row: rows[i], Cells: c})
			continue
		}
		if _, both := c["contact_id"]; both {
			refused = append(refused, rowError(rows[i], contactEmail, codeBothContacts,
				"contact_email and contact_id name the contact twice; give only one of them"))
			continue
		}
		switch found := ids[email]; len(found) {
		case 0:
			refused = append(refused, rowError(rows[i], contactEmail, contactsapi.ErrContactNotFound.Code,
				fmt.Sprintf("no contact of the organization has the email %q", email)))
		case 1:
			delete(c, contactEmail)
			c["contact_id"] = fmt.Sprint(found[0])
			in = append(in, dealsapi.ImportRow{Row: rows[i], Cells: c})
		default:
			refused = append(refused, rowError(rows[i], contactEmail, codeContactAmbiguous,
				fmt.Sprintf("%d contacts have the email %q; give the contact's contact_id instead", len(found), email)))
		}
	}
	return in, refused, nil
}
