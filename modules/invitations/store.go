package invitations

import (
	"context"
	"encoding/hex"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/invitations/invitationsapi"
	"github.com/mini-crm/crm/platform/database"
)

// Invitation is an invitation as its organization's owners and admins see it: never its
// token or the token's hash.
type Invitation struct {
	ID         int64      `db:"id"`
	OrgID      int64      `db:"organization_id"`
	Email      string     `db:"email"`
	Role       string     `db:"role"`
	InvitedBy  int64      `db:"invited_by"`
	CreatedAt  time.Time  `db:"created_at"`
	ExpiresAt  time.Time  `db:"expires_at"`
	AcceptedAt *time.Time `db:"accepted_at"`
	AcceptedBy *int64     `db:"accepted_by"`
	RevokedAt  *time.Time `db:"revoked_at"`
}

// Status is what the invitation is at time now.
func (i Invitation) Status(now time.Time) string {
	return status(i.AcceptedAt, i.RevokedAt, i.ExpiresAt, now)
}

// errNoSuchID is the 404 of an invitation id that does not exist in the organization.
var errNoSuchID = invitationsapi.ErrInvitationNotFound.WithDetail("no invitation with this id exists in the organization")

const invitationReturning = "RETURNING id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at"

var invitationCols = []string{"id", "organization_id", "email", "role", "invited_by", "created_at", "expires_at",
	"accepted_at", "accepted_by", "revoked_at"}

// open is the condition of an invitation that is neither accepted nor revoked.
var open = sq.Eq{"accepted_at": nil, "revoked_at": nil}

type store struct{ db *database.DB }

// lockEmail serialises the invitations of one email in one organization, so that two
// concurrent invitations of the same email leave exactly one pending. It must run in a
// transaction.
func (s store) lockEmail(ctx context.Context, orgID int64, email string) error {
	_, err := s.db.Q(ctx).Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('invitations:' || $1::bigint || ':' || $2::text, 0))`,
		orgID, normalEmail(email))
	return database.MapError(err)
}

// replace revokes the pending invitation of email in the organization, if any: a new one
// replaces it.
func (s store) replace(ctx context.Context, orgID int64, email string, now time.Time) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("invitations").Set("revoked_at", now).
		Where(sq.Eq{"organization_id": orgID}).Where(open).Where("lower(email) = ?", normalEmail(email)).
		Where("expires_at > ?", now))
	return err
}

func (s store) insert(ctx context.Context, orgID int64, email, role string, hash []byte, invitedBy int64, now time.Time) (Invitation, error) {
	q := database.SQL.Insert("invitations").
		Columns("organization_id", "email", "role", "token_hash", "invited_by", "created_at", "expires_at").
		Values(orgID, email, role, hash, invitedBy, now, now.Add(Validity)).Suffix(invitationReturning)
	return database.Get[Invitation](ctx, s.db.Q(ctx), q)
}

// invitationOrder is newest first.
var invitationOrder = database.Order{Key: "invitations:created_at:desc", Desc: true,
	Cols: []database.KeyCol{{Expr: "created_at", Type: "timestamptz"}, {Expr: "id", Type: "bigint"}}}

// addressedOrder is newest first too, under a key of its own: a cursor of one list is not one
// of the other.
var addressedOrder = database.Order{Key: "invitations:addressed:created_at:desc", Desc: true, Cols: invitationOrder.Cols}

func invitationKey(i Invitation) []string {
	return []string{database.TimeKey(i.CreatedAt), database.IDKey(i.ID)}
}

// statusWhere is the condition of the statuses at time now.
func statusWhere(statuses []string, now time.Time) sq.Sqlizer {
	or := sq.Or{}
	for _, st := range statuses {
		switch st {
		case StatusPending:
			or = append(or, sq.And{open, sq.Expr("expires_at > ?", now)})
		case StatusExpired:
			or = append(or, sq.And{open, sq.Expr("expires_at <= ?", now)})
		case StatusAccepted:
			or = append(or, sq.NotEq{"accepted_at": nil})
		case StatusRevoked:
			or = append(or, sq.NotEq{"revoked_at": nil})
		}
	}
	return or
}

// list lists the organization's invitations with the statuses (all when none), newest first.
func (s store) list(ctx context.Context, orgID int64, statuses []string, now time.Time, w database.Window) (database.Result[Invitation], error) {
	where := sq.And{sq.Eq{"organization_id": orgID}}
	if len(statuses) > 0 {
		where = append(where, statusWhere(statuses, now))
	} else {
		w = w.Unfiltered()
	}
	return database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select(invitationCols...).From("invitations").Where(where),
		database.SQL.Select("count(*)").From("invitations").Where(where),
		invitationOrder, w, invitationKey)
}

// addressedTo lists the pending invitations of email in every organization, newest first.
// The rows are those the invitee_lookup policy shows for the email announced in the
// transaction; the caller's scope shows no other.
func (s store) addressedTo(ctx context.Context, email string, now time.Time, w database.Window) (database.Result[Invitation], error) {
	var res database.Result[Invitation]
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		q := s.db.Q(ctx)
		if _, err := q.Exec(ctx, `SELECT set_config('app.invitee_email', $1, true)`, normalEmail(email)); err != nil {
			return database.MapError(err)
		}
		where := sq.And{open, sq.Expr("lower(email) = ?", normalEmail(email)), sq.Expr("expires_at > ?", now)}
		var err error
		res, err = database.Paginate(ctx, q,
			database.SQL.Select(invitationCols...).From("invitations").Where(where),
			database.SQL.Select("count(*)").From("invitations").Where(where),
			addressedOrder, w.Unfiltered(), invitationKey)
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `SELECT set_config('app.invitee_email', '', true)`)
		return database.MapError(err)
	})
	return res, err
}

// byToken finds the invitation of a token hash, whatever its state, through the token_lookup
// policy. It must run in a transaction.
func (s store) byToken(ctx context.Context, hash []byte) (Invitation, error) {
	q := s.db.Q(ctx)
	if _, err := q.Exec(ctx, `SELECT set_config('app.invitation_token_hash', $1, true)`, hex.EncodeToString(hash)); err != nil {
		return Invitation{}, database.MapError(err)
	}
	inv, err := database.Get[Invitation](ctx, q, database.SQL.Select(invitationCols...).From("invitations").
		Where(sq.Eq{"token_hash": hash}))
	if _, rerr := q.Exec(ctx, `SELECT set_config('app.invitation_token_hash', '', true)`); rerr != nil && err == nil {
		err = database.MapError(rerr)
	}
	return inv, err
}

// accept marks a pending invitation accepted by userID, under the organization's scope. Of
// concurrent accepts of one invitation only the first changes the row: the others wait for
// its row lock and then find it no longer pending (ok false).
func (s store) accept(ctx context.Context, orgID, id, userID int64, now time.Time) (inv Invitation, ok bool, err error) {
	inv, err = database.Get[Invitation](ctx, s.db.Q(ctx), database.SQL.Update("invitations").
		Set("accepted_at", now).Set("accepted_by", userID).
		Where(sq.Eq{"organization_id": orgID, "id": id}).Where(open).Where("expires_at > ?", now).
		Suffix(invitationReturning))
	if database.IsNoRows(err) {
		return inv, false, nil
	}
	return inv, err == nil, err
}

// revoke sets revoked_at on a pending invitation and returns it; an accepted, revoked or
// expired one is returned as it is.
func (s store) revoke(ctx context.Context, orgID, id int64, now time.Time) (Invitation, error) {
	inv, err := database.Get[Invitation](ctx, s.db.Q(ctx), database.SQL.Update("invitations").Set("revoked_at", now).
		Where(sq.Eq{"organization_id": orgID, "id": id}).Where(open).Where("expires_at > ?", now).
		Suffix(invitationReturning))
	if !database.IsNoRows(err) {
		return inv, err
	}
	inv, err = database.Get[Invitation](ctx, s.db.Q(ctx), database.SQL.Select(invitationCols...).From("invitations").
		Where(sq.Eq{"organization_id": orgID, "id": id}))
	if database.IsNoRows(err) {
		return inv, errNoSuchID
	}
	return inv, err
}

// revokeFrom revokes the pending invitations userID made in the organization (an inviter
// who leaves or is no longer owner or admin).
func (s store) revokeFrom(ctx context.Context, orgID, userID int64, now time.Time) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("invitations").Set("revoked_at", now).
		Where(sq.Eq{"organization_id": orgID, "invited_by": userID}).Where(open).Where("expires_at > ?", now))
	return err
}
