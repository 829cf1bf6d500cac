package identity

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/platform/database"
)

type userRow struct {
	ID           int64     `db:"id"`
	Email        string    `db:"email"`
	PasswordHash string    `db:"password_hash"`
	Name         string    `db:"name"`
	CreatedAt    time.Time `db:"created_at"`
}

func (r userRow) user() identityapi.User {
	return identityapi.User{ID: r.ID, Email: r.Email, Name: r.Name, CreatedAt: r.CreatedAt}
}

type refreshRow struct {
	ID        int64       `db:"id"`
	UserID    int64       `db:"user_id"`
	FamilyID  pgtype.UUID `db:"family_id"`
	ExpiresAt time.Time   `db:"expires_at"`
	UsedAt    *time.Time  `db:"used_at"`
	RevokedAt *time.Time  `db:"revoked_at"`
}

// store holds the identity tables. Users and tokens belong to no organization.
type store struct{ db *database.DB }

var userCols = []string{"id", "email", "password_hash", "name", "created_at"}

func (s store) insertUser(ctx context.Context, email, hash, name string) (userRow, error) {
	q := database.SQL.Insert("users").Columns("email", "password_hash", "name").
		Values(email, hash, name).Suffix("RETURNING " + strings.Join(userCols, ", "))
	u, err := database.Get[userRow](ctx, s.db.Q(ctx), q)
	if database.PgCode(err) == database.CodeUniqueViolation {
		return u, identityapi.ErrEmailTaken
	}
	if err != nil {
		return u, fmt.Errorf("insert user: %w", err)
	}
	return u, nil
}

func (s store) userByEmail(ctx context.Context, email string) (userRow, error) {
	q := database.SQL.Select(userCols...).From("users").Where("lower(email) = lower(?)", email)
	u, err := database.Get[userRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return u, identityapi.ErrUserNotFound
	}
	return u, err
}

func (s store) userByID(ctx context.Context, id int64) (userRow, error) {
	q := database.SQL.Select(userCols...).From("users").Where(sq.Eq{"id": id})
	u, err := database.Get[userRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return u, identityapi.ErrUserNotFound.WithDetail("the user no longer exists")
	}
	return u, err
}

func (s store) usersByID(ctx context.Context, ids []int64) ([]userRow, error) {
	q := database.SQL.Select(userCols...).From("users").Where("id = ANY(?)", ids)
	return database.Select[userRow](ctx, s.db.Q(ctx), q)
}

// setName renames a user. The same name again leaves the row untouched and returns it as it is.
func (s store) setName(ctx context.Context, userID int64, name string) (userRow, error) {
	q := database.SQL.Update("users").Set("name", name).Set("updated_at", sq.Expr("now()")).
		Where(sq.Eq{"id": userID}).Where(sq.NotEq{"name": name}).Suffix("RETURNING " + strings.Join(userCols, ", "))
	u, err := database.Get[userRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return s.userByID(ctx, userID)
	}
	return u, err
}

func (s store) setPassword(ctx context.Context, userID int64, hash string) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("users").
		Set("password_hash", hash).Set("updated_at", sq.Expr("now()")).Where(sq.Eq{"id": userID}))
	return err
}

func newFamily() pgtype.UUID {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40 // version 4
	b[8] = (b[8] & 0x3f) | 0x80 // RFC 4122 variant
	return pgtype.UUID{Bytes: b, Valid: true}
}

func (s store) insertRefresh(ctx context.Context, userID int64, family pgtype.UUID, hash []byte, expires time.Time) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Insert("refresh_tokens").
		Columns("user_id", "family_id", "token_hash", "expires_at").Values(userID, family, hash, expires))
	return err
}

// refreshForUpdate locks the token row so that two concurrent refreshes with the same token
// cannot both succeed.
func (s store) refreshForUpdate(ctx context.Context, hash []byte) (refreshRow, error) {
	q := database.SQL.Select("id", "user_id", "family_id", "expires_at", "used_at", "revoked_at").
		From("refresh_tokens").Where(sq.Eq{"token_hash": hash}).Suffix("FOR UPDATE")
	return database.Get[refreshRow](ctx, s.db.Q(ctx), q)
}

func (s store) markUsed(ctx context.Context, id int64) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("refresh_tokens").
		Set("used_at", sq.Expr("now()")).Where(sq.Eq{"id": id}))
	return err
}

func (s store) revokeFamily(ctx context.Context, family pgtype.UUID) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("refresh_tokens").
		Set("revoked_at", sq.Expr("now()")).Where(sq.Eq{"family_id": family, "revoked_at": nil}))
	return err
}

func (s store) revokeUser(ctx context.Context, userID int64) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("refresh_tokens").
		Set("revoked_at", sq.Expr("now()")).Where(sq.Eq{"user_id": userID, "revoked_at": nil}))
	return err
}
