package apikeys

import (
	"context"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/database"
)

// Key is an API key as its organization's owners and admins see it: never its token or hash.
type Key struct {
	ID         int64      `db:"id"`
	OrgID      int64      `db:"organization_id"`
	Name       string     `db:"name"`
	Role       string     `db:"role"`
	Prefix     string     `db:"prefix"`
	CreatedBy  int64      `db:"created_by"`
	CreatedAt  time.Time  `db:"created_at"`
	ExpiresAt  *time.Time `db:"expires_at"`
	LastUsedAt *time.Time `db:"last_used_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
}

// ErrKeyNotFound is the 404 of an API key that does not exist in the organization.
var ErrKeyNotFound = apperr.NotFound("api_key_not_found", "no API key with this id exists in the organization")

const keyReturning = "RETURNING id, organization_id, name, role, prefix, created_by, created_at, expires_at, last_used_at, revoked_at"

var keyCols = []string{"id", "organization_id", "name", "role", "prefix", "created_by", "created_at",
	"expires_at", "last_used_at", "revoked_at"}

type store struct{ db *database.DB }

func (s store) insert(ctx context.Context, orgID int64, name, role, prefix string, hash []byte, createdBy int64, expires *time.Time) (Key, error) {
	q := database.SQL.Insert("api_keys").
		Columns("organization_id", "name", "role", "prefix", "token_hash", "created_by", "expires_at").
		Values(orgID, name, role, prefix, hash, createdBy, expires).Suffix(keyReturning)
	return database.Get[Key](ctx, s.db.Q(ctx), q)
}

// keyOrder is oldest first, like the members list.
var keyOrder = database.Order{Key: "api_keys:created_at:asc",
	Cols: []database.KeyCol{{Expr: "created_at", Type: "timestamptz"}, {Expr: "id", Type: "bigint"}}}

func (s store) list(ctx context.Context, orgID int64, w database.Window) (database.Result[Key], error) {
	where := sq.Eq{"organization_id": orgID}
	return database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select(keyCols...).From("api_keys").Where(where),
		database.SQL.Select("count(*)").From("api_keys").Where(where),
		keyOrder, w.Unfiltered(), func(k Key) []string { return []string{database.TimeKey(k.CreatedAt), database.IDKey(k.ID)} })
}

// revoke sets revoked_at on a key that is not revoked yet and returns it; revoked is false
// (and the key as it is) when it already was.
func (s store) revoke(ctx context.Context, orgID, id int64) (k Key, revoked bool, err error) {
	k, err = database.Get[Key](ctx, s.db.Q(ctx), database.SQL.Update("api_keys").Set("revoked_at", sq.Expr("now()")).
		Where(sq.Eq{"organization_id": orgID, "id": id, "revoked_at": nil}).Suffix(keyReturning))
	if err == nil {
		return k, true, nil
	}
	if !database.IsNoRows(err) {
		return k, false, err
	}
	k, err = database.Get[Key](ctx, s.db.Q(ctx), database.SQL.Select(keyCols...).From("api_keys").
		Where(sq.Eq{"organization_id": orgID, "id": id}))
	if database.IsNoRows(err) {
		return k, false, ErrKeyNotFound
	}
	return k, false, err
}

// revokeCreatedBy revokes every key userID created in orgID that is not revoked yet and returns them.
func (s store) revokeCreatedBy(ctx context.Context, orgID, userID int64) ([]Key, error) {
	return database.Select[Key](ctx, s.db.Q(ctx), database.SQL.Update("api_keys").Set("revoked_at", sq.Expr("now()")).
		Where(sq.Eq{"organization_id": orgID, "created_by": userID, "revoked_at": nil}).Suffix(keyReturning))
}

// authenticated is a key found by its token, with its creator's current role.
type authenticated struct {
	KeyID       int64  `db:"key_id"`
	OrgID       int64  `db:"org_id"`
	CreatorID   int64  `db:"creator_id"`
	KeyRole     string `db:"key_role"`
	CreatorRole string `db:"creator_role"`
}

// authenticate finds the live key with the token hash and its creator's role, in one
// statement (see api_key_authenticate in the migrations).
func (s store) authenticate(ctx context.Context, hash []byte) (authenticated, error) {
	rows, err := s.db.Q(ctx).Query(ctx,
		`SELECT key_id, org_id, creator_id, key_role, creator_role FROM api_key_authenticate($1)`, hash)
	if err != nil {
		return authenticated{}, database.MapError(err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[authenticated])
	if err != nil && !database.IsNoRows(err) {
		err = database.MapError(err)
	}
	return a, err
}

// touch records when keys of one organization were last used: one statement for them all,
// which never moves a time backwards.
func (s store) touch(ctx context.Context, orgID int64, ids []int64, at []time.Time) error {
	_, err := s.db.Q(ctx).Exec(ctx, `UPDATE api_keys k SET last_used_at = u.at
		FROM unnest($2::bigint[], $3::timestamptz[]) AS u(id, at)
		WHERE k.organization_id = $1 AND k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`,
		orgID, ids, at)
	return database.MapError(err)
}

// acting finds a live key of orgID by id, with its creator's current role ("" when the creator
// is no longer a member).
func (s store) acting(ctx context.Context, orgID, keyID int64) (authenticated, error) {
	rows, err := s.db.Q(ctx).Query(ctx, `SELECT id AS key_id, organization_id AS org_id, created_by AS creator_id,
			role AS key_role, coalesce(organization_member_role(organization_id, created_by), '') AS creator_role
		FROM api_keys
		WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
		orgID, keyID)
	if err != nil {
		return authenticated{}, database.MapError(err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[authenticated])
	if err != nil && !database.IsNoRows(err) {
		err = database.MapError(err)
	}
	return a, err
}
