package orgs

import (
	"context"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
)

type orgRow struct {
	ID              int64     `db:"id"`
	Name            string    `db:"name"`
	DefaultCurrency string    `db:"default_currency"`
	TimeZone        string    `db:"time_zone"`
	CreatedAt       time.Time `db:"created_at"`
}

func (r orgRow) org() orgsapi.Organization {
	return orgsapi.Organization{ID: r.ID, Name: r.Name, DefaultCurrency: r.DefaultCurrency, TimeZone: r.TimeZone,
		CreatedAt: r.CreatedAt}
}

// myOrgRow is an organization seen by one of its members.
type myOrgRow struct {
	orgRow
	Role string `db:"role"`
}

type memberRow struct {
	UserID   int64     `db:"user_id"`
	Role     string    `db:"role"`
	JoinedAt time.Time `db:"joined_at"`
}

// member is the membership as a Member of user u.
func (r memberRow) member(u identityapi.User) Member {
	return Member{User: u, Role: auth.Role(r.Role), JoinedAt: r.JoinedAt}
}

// ErrMemberNotFound is the 404 for a user who is not a member of the organization.
var ErrMemberNotFound = apperr.NotFound("member_not_found", "this user is not a member of the organization")

// ErrMemberOwnsRecords is the 409 for removing a member who still owns contacts or deals.
var ErrMemberOwnsRecords = apperr.Conflict("member_owns_records",
	"this member still owns contacts or deals in the organization; reassign them first")

type store struct{ db *database.DB }

var orgCols = []string{"o.id", "o.name", "o.default_currency", "o.time_zone", "o.created_at"}

// orgReturning is orgCols of an INSERT or UPDATE of the organizations table.
const orgReturning = "RETURNING id, name, default_currency, time_zone, created_at"

// notClosed is the condition of an organization that is not closed: a closed one is refused to
// everyone in the same statement that finds it.
var notClosed = sq.Eq{"o.closed_at": nil}

func (s store) insertOrg(ctx context.Context, name, currency, timeZone string) (orgRow, error) {
	q := database.SQL.Insert("organizations").Columns("name", "default_currency", "time_zone").
		Values(name, currency, timeZone).Suffix(orgReturning)
	return database.Get[orgRow](ctx, s.db.Q(ctx), q)
}

func (s store) org(ctx context.Context, id int64) (orgRow, error) {
	q := database.SQL.Select(orgCols...).From("organizations o").Where(sq.Eq{"o.id": id})
	r, err := database.Get[orgRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, orgsapi.ErrOrganizationNotFound
	}
	return r, err
}

// lockOrg serialises membership changes of one organization, so the last-owner rule holds
// under concurrent requests.
func (s store) lockOrg(ctx context.Context, id int64) error {
	_, err := database.Scalar[int64](ctx, s.db.Q(ctx),
		database.SQL.Select("id").From("organizations").Where(sq.Eq{"id": id}).Suffix("FOR UPDATE"))
	if database.IsNoRows(err) {
		return orgsapi.ErrOrganizationNotFound
	}
	return err
}

func (s store) updateOrg(ctx context.Context, id int64, name, currency, timeZone *string) (orgRow, error) {
	u := database.SQL.Update("organizations").Set("updated_at", sq.Expr("now()")).
		Where(sq.Eq{"id": id, "closed_at": nil}).Suffix(orgReturning)
	if name != nil {
		u = u.Set("name", *name)
	}
	if currency != nil {
		u = u.Set("default_currency", *currency)
	}
	if timeZone != nil {
		u = u.Set("time_zone", *timeZone)
	}
	r, err := database.Get[orgRow](ctx, s.db.Q(ctx), u)
	if database.IsNoRows(err) {
		return r, orgsapi.ErrOrganizationNotFound
	}
	return r, err
}

// closeOrg marks the organization closed; it reports false when it is closed already.
func (s store) closeOrg(ctx context.Context, id int64) (bool, error) {
	n, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("organizations").
		Set("closed_at", sq.Expr("now()")).Set("updated_at", sq.Expr("now()")).Where(sq.Eq{"id": id, "closed_at": nil}))
	return n == 1, err
}

func (s store) orgsOf(ctx context.Context, userID int64) ([]myOrgRow, error) {
	q := database.SQL.Select(append(orgCols, "m.role")...).From("organizations o").
		Join("organization_members m ON m.organization_id = o.id").
		Where(sq.Eq{"m.user_id": userID}).Where(notClosed).OrderBy("o.id")
	return database.Select[myOrgRow](ctx, s.db.Q(ctx), q)
}

// role is the member's role in an organization that is not closed: the guard's one query per
// request, so a closed organization is refused without a round trip of its own.
func (s store) role(ctx context.Context, orgID, userID int64) (auth.Role, error) {
	r, err := database.Scalar[string](ctx, s.db.Q(ctx), database.SQL.Select("m.role").From("organization_members m").
		Join("organizations o ON o.id = m.organization_id").
		Where(sq.Eq{"m.organization_id": orgID, "m.user_id": userID}).Where(notClosed))
	if database.IsNoRows(err) {
		return "", ErrMemberNotFound
	}
	return auth.Role(r), err
}

// member returns a membership of the organization.
func (s store) member(ctx context.Context, orgID, userID int64) (memberRow, error) {
	r, err := database.Get[memberRow](ctx, s.db.Q(ctx), database.SQL.Select("user_id", "role", "joined_at").
		From("organization_members").Where(sq.Eq{"organization_id": orgID, "user_id": userID}))
	if database.IsNoRows(err) {
		return r, ErrMemberNotFound
	}
	return r, err
}

func (s store) insertMember(ctx context.Context, orgID, userID int64, role auth.Role) (memberRow, error) {
	q := database.SQL.Insert("organization_members").Columns("organization_id", "user_id", "role").
		Values(orgID, userID, string(role)).Suffix("RETURNING user_id, role, joined_at")
	m, err := database.Get[memberRow](ctx, s.db.Q(ctx), q)
	if database.PgCode(err) == database.CodeUniqueViolation {
		return m, orgsapi.ErrAlreadyMember
	}
	return m, err
}

func (s store) setRole(ctx context.Context, orgID, userID int64, role auth.Role) (memberRow, error) {
	q := database.SQL.Update("organization_members").Set("role", string(role)).
		Where(sq.Eq{"organization_id": orgID, "user_id": userID}).Suffix("RETURNING user_id, role, joined_at")
	m, err := database.Get[memberRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return m, ErrMemberNotFound
	}
	return m, err
}

func (s store) deleteMember(ctx context.Context, orgID, userID int64) error {
	n, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("organization_members").
		Where(sq.Eq{"organization_id": orgID, "user_id": userID}))
	if database.PgCode(err) == database.CodeForeignKeyViolation {
		return ErrMemberOwnsRecords
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrMemberNotFound
	}
	return nil
}

func (s store) countOwners(ctx context.Context, orgID int64) (int, error) {
	return database.Scalar[int](ctx, s.db.Q(ctx), database.SQL.Select("count(*)").From("organization_members").
		Where(sq.Eq{"organization_id": orgID, "role": string(auth.RoleOwner)}))
}

// memberOrder is oldest first.
var memberOrder = database.Order{Key: "members:joined_at:asc",
	Cols: []database.KeyCol{{Expr: "joined_at", Type: "timestamptz"}, {Expr: "user_id", Type: "bigint"}}}

func (s store) members(ctx context.Context, orgID int64, w database.Window) (database.Result[memberRow], error) {
	where := sq.Eq{"organization_id": orgID}
	return database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select("user_id", "role", "joined_at").From("organization_members").Where(where),
		database.SQL.Select("count(*)").From("organization_members").Where(where),
		memberOrder, w.Unfiltered(), func(r memberRow) []string { return []string{database.TimeKey(r.JoinedAt), database.IDKey(r.UserID)} })
}
