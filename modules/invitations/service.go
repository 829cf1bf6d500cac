package invitations

import (
	"context"
	"errors"
	"time"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/modules/invitations/invitationsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/listing"
)

// Identity is what this module uses of the identity facade.
type Identity interface {
	UserByEmail(ctx context.Context, email string) (identityapi.User, error)
	UsersByID(ctx context.Context, ids []int64) (map[int64]identityapi.User, error)
}

// Service implements invitations: owners and admins invite people by email, and the person
// with that email joins by accepting, or by signing up with the token.
type Service struct {
	db       *database.DB
	store    store
	now      func() time.Time
	identity Identity
	orgs     orgsapi.Orgs
	members  auth.Memberships
}

var _ invitationsapi.Invitations = (*Service)(nil)

// Created is a new invitation with its token, which is never shown again.
type Created struct {
	Invitation Invitation
	Token      string
}

// Addressed is a pending invitation as its addressee lists it: with its organization.
type Addressed struct {
	Invitation Invitation
	Org        orgsapi.Organization
}

// Accepted is the organization an accepted invitation joined, with the role it gave.
type Accepted struct {
	Org  orgsapi.Organization
	Role auth.Role
}

// Create invites email to the organization with role. A pending invitation of the same email
// (compared case-insensitively) is revoked: the new one replaces it. Someone who is a member
// already is 409 already_member.
func (s *Service) Create(ctx context.Context, email string, role auth.Role) (Created, error) {
	p, err := auth.RequireManager(ctx)
	if err != nil {
		return Created{}, err
	}
	if err := checkInvite(p.Role, role); err != nil {
		return Created{}, err
	}
	if err := s.checkNotMember(ctx, p.OrgID, email); err != nil {
		return Created{}, err
	}
	token := newToken()
	now := s.now()
	var inv Invitation
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.lockEmail(ctx, p.OrgID, email); err != nil {
			return err
		}
		if err := s.store.replace(ctx, p.OrgID, email, now); err != nil {
			return err
		}
		inv, err = s.store.insert(ctx, p.OrgID, email, string(role), hashOf(token), p.UserID, now)
		return err
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Invitation: inv, Token: token}, nil
}

// checkNotMember refuses to invite the email of a member of the organization.
func (s *Service) checkNotMember(ctx context.Context, orgID int64, email string) error {
	u, err := s.identity.UserByEmail(ctx, email)
	if errors.Is(err, identityapi.ErrUserNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.members.RoleOf(ctx, orgID, u.ID)
	switch {
	case err == nil:
		return orgsapi.ErrAlreadyMember
	case errors.Is(err, auth.ErrNotMember):
		return nil
	}
	return err
}

// List lists the organization's invitations with the statuses (every one when none), newest
// first.
func (s *Service) List(ctx context.Context, statuses []string, w listing.Window) (database.Result[Invitation], error) {
	p, err := auth.RequireManager(ctx)
	if err != nil {
		return database.Result[Invitation]{}, err
	}
	return s.store.list(ctx, p.OrgID, statuses, s.now(), w)
}

// Revoke makes a pending invitation unusable. Revoking one that is no longer pending changes
// nothing.
func (s *Service) Revoke(ctx context.Context, id int64) error {
	p, err := auth.RequireManager(ctx)
	if err != nil {
		return err
	}
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		_, err := s.store.revoke(ctx, p.OrgID, id, s.now())
		return err
	})
}

// Now is the service's clock, for rendering statuses.
func (s *Service) Now() time.Time { return s.now() }

// Mine lists the pending invitations addressed to the caller's email, newest first.
func (s *Service) Mine(ctx context.Context, w listing.Window) (database.Result[Addressed], error) {
	var out database.Result[Addressed]
	u, err := s.caller(ctx)
	if err != nil {
		return out, err
	}
	res, err := s.store.addressedTo(ctx, u.Email, s.now(), w)
	if err != nil {
		return out, err
	}
	orgs := map[int64]orgsapi.Organization{}
	out = database.Result[Addressed]{Items: make([]Addressed, 0, len(res.Items)), Total: res.Total, NextCursor: res.NextCursor}
	for _, inv := range res.Items {
		o, ok := orgs[inv.OrgID]
		if !ok {
			if o, err = s.orgs.Organization(ctx, inv.OrgID); err != nil {
				return out, err
			}
			orgs[inv.OrgID] = o
		}
		out.Items = append(out.Items, Addressed{Invitation: inv, Org: o})
	}
	return out, nil
}

// caller is the signed-in user.
func (s *Service) caller(ctx context.Context) (identityapi.User, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return identityapi.User{}, err
	}
	users, err := s.identity.UsersByID(ctx, []int64{p.UserID})
	if err != nil {
		return identityapi.User{}, err
	}
	u, ok := users[p.UserID]
	if !ok {
		return identityapi.User{}, auth.ErrNoPrincipal
	}
	return u, nil
}

// Accept makes the caller a member of the organization of the invitation of token.
func (s *Service) Accept(ctx context.Context, token string) (Accepted, error) {
	u, err := s.caller(ctx)
	if err != nil {
		return Accepted{}, err
	}
	var out Accepted
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		out, err = s.redeem(ctx, token, u.ID, u.Email)
		return err
	})
	return out, err
}

// Redeem implements invitationsapi.Invitations.
func (s *Service) Redeem(ctx context.Context, token string, userID int64, email string) (invitationsapi.Joined, error) {
	var out Accepted
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.redeem(ctx, token, userID, email)
		return err
	})
	if err != nil {
		return invitationsapi.Joined{}, err
	}
	return invitationsapi.Joined{OrgID: out.Org.ID, Role: string(out.Role)}, nil
}

// redeem uses the invitation of token for user userID with email, in the transaction of ctx:
// the invitation must be pending, addressed to email (case-insensitively) and made by someone
// who is still owner or admin; the user joins with the lower of the invited role and the
// inviter's current one. The invitation is marked accepted before the user joins, under its
// row lock, so that of concurrent redemptions exactly one goes through.
func (s *Service) redeem(ctx context.Context, token string, userID int64, email string) (Accepted, error) {
	if !wellFormed(token) {
		return Accepted{}, invitationsapi.ErrInvitationNotFound
	}
	inv, err := s.store.byToken(ctx, hashOf(token))
	if database.IsNoRows(err) {
		return Accepted{}, invitationsapi.ErrInvitationNotFound
	}
	if err != nil {
		return Accepted{}, err
	}
	now := s.now()
	if inv.Status(now) != StatusPending {
		return Accepted{}, invitationsapi.ErrInvitationNotFound
	}
	if normalEmail(inv.Email) != normalEmail(email) {
		return Accepted{}, invitationsapi.ErrEmailMismatch
	}
	// The rest of the transaction is the invitation's organization's.
	if ctx, err = s.db.SetTenant(ctx, inv.OrgID); err != nil {
		return Accepted{}, err
	}
	inviter, err := s.members.RoleOf(ctx, inv.OrgID, inv.InvitedBy)
	if errors.Is(err, auth.ErrNotMember) {
		return Accepted{}, invitationsapi.ErrInvitationNotFound
	}
	if err != nil {
		return Accepted{}, err
	}
	role, ok := grantedRole(auth.Role(inv.Role), inviter)
	if !ok {
		return Accepted{}, invitationsapi.ErrInvitationNotFound
	}
	if _, ok, err := s.store.accept(ctx, inv.OrgID, inv.ID, userID, now); err != nil || !ok {
		if err == nil {
			err = invitationsapi.ErrInvitationNotFound
		}
		return Accepted{}, err
	}
	o, err := s.orgs.Join(ctx, inv.OrgID, userID, string(role))
	if err != nil {
		return Accepted{}, err
	}
	return Accepted{Org: o, Role: role}, nil
}

// RenderOrganization is the organization as its GET renders it for a member with role.
func (s *Service) RenderOrganization(a Accepted) any {
	return s.orgs.RenderOrganization(a.Org, string(a.Role))
}

// revokeFrom revokes the pending invitations of a member who may no longer invite (who left,
// or whose role is no longer owner or admin), in the transaction of that change.
func (s *Service) revokeFrom(ctx context.Context, orgID, userID int64) error {
	return s.store.revokeFrom(ctx, orgID, userID, s.now())
}
