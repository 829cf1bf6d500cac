package contacts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/platform/database"
)

type contactRow struct {
	ID             int64     `db:"id"`
	OrganizationID int64     `db:"organization_id"`
	OwnerID        int64     `db:"owner_id"`
	Name           string    `db:"name"`
	Email          *string   `db:"email"`
	Phone          *string   `db:"phone"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

func (r contactRow) contact() contactsapi.Contact {
	return contactsapi.Contact{ID: r.ID, OrganizationID: r.OrganizationID, OwnerID: r.OwnerID, Name: r.Name,
		Email: r.Email, Phone: r.Phone, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

var contactCols = []string{"id", "organization_id", "owner_id", "name", "email", "phone", "created_at", "updated_at"}

var returning = "RETURNING " + strings.Join(contactCols, ", ")

// store holds the contacts table. Every method filters by the organization it is given.
type store struct{ db *database.DB }

// mapWriteError turns the owner foreign key into the 400 about owner_id.
func mapWriteError(err error) error {
	if database.PgCode(err) == database.CodeForeignKeyViolation && database.Constraint(err) == "contacts_owner_fkey" {
		return orgsapi.ErrOwnerNotMember.Wrap(err)
	}
	return err
}

type newContact struct {
	OwnerID int64
	Name    string
	Email   *string
	Phone   *string
}

func (s store) insert(ctx context.Context, orgID int64, c newContact) (contactRow, error) {
	q := database.SQL.Insert("contacts").Columns("organization_id", "owner_id", "name", "email", "phone").
		Values(orgID, c.OwnerID, c.Name, c.Email, c.Phone).Suffix(returning)
	r, err := database.Get[contactRow](ctx, s.db.Q(ctx), q)
	if err != nil {
		return r, fmt.Errorf("insert contact: %w", mapWriteError(err))
	}
	return r, nil
}

func (s store) get(ctx context.Context, orgID, id int64, lock bool) (contactRow, error) {
	q := database.SQL.Select(contactCols...).From("contacts").Where(sq.Eq{"organization_id": orgID, "id": id})
	if lock {
		q = q.Suffix("FOR UPDATE")
	}
	r, err := database.Get[contactRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, contactsapi.ErrContactNotFound
	}
	if err != nil {
		return r, fmt.Errorf("get contact: %w", err)
	}
	return r, nil
}

// update writes the given columns and bumps updated_at to the time of the write (the
// transaction may have waited for the row lock).
func (s store) update(ctx context.Context, orgID, id int64, set map[string]any) (contactRow, error) {
	q := database.SQL.Update("contacts").SetMap(set).Set("updated_at", sq.Expr("clock_timestamp()")).
		Where(sq.Eq{"organization_id": orgID, "id": id}).Suffix(returning)
	r, err := database.Get[contactRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, contactsapi.ErrContactNotFound
	}
	if err != nil {
		return r, fmt.Errorf("update contact: %w", mapWriteError(err))
	}
	return r, nil
}

// errReferenced marks a delete refused by a foreign key of another table.
var errReferenced = errors.New("contact is referenced")

func (s store) delete(ctx context.Context, orgID, id int64) error {
	n, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("contacts").Where(sq.Eq{"organization_id": orgID, "id": id}))
	if database.PgCode(err) == database.CodeForeignKeyViolation {
		return fmt.Errorf("%w: %w", errReferenced, contactsapi.ErrContactHasDeals.Wrap(err))
	}
	if err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	if n == 0 {
		return contactsapi.ErrContactNotFound
	}
	return nil
}

// listOrder is newest first; the index contacts (organization_id, created_at, id) serves it.
var listOrder = database.Order{Key: "contacts:created_at:desc", Desc: true,
	Cols: []database.KeyCol{{Expr: "created_at", Type: "timestamptz"}, {Expr: "id", Type: "bigint"}}}

func (s store) list(ctx context.Context, orgID int64, f ListFilter, w database.Window) (database.Result[contactRow], error) {
	where := sq.And{sq.Eq{"organization_id": orgID}}
	if f.OwnerID != nil {
		where = append(where, sq.Eq{"owner_id": *f.OwnerID})
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		where = append(where, sq.Or{sq.ILike{"name": p}, sq.ILike{"email": p}})
	}
	res, err := database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select(contactCols...).From("contacts").Where(where),
		database.SQL.Select("count(*)").From("contacts").Where(where),
		listOrder, w, func(r contactRow) []string { return []string{database.TimeKey(r.CreatedAt), database.IDKey(r.ID)} })
	if err != nil {
		return res, fmt.Errorf("contacts: %w", err)
	}
	return res, nil
}
