package orgs

import (
	"context"
	"fmt"

	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/events"
)

// RegisterInvited creates a user who joins the organization of an invitation instead of
// creating one, and a session, in one transaction: a token that fails (unknown, used,
// expired, addressed to another email) leaves no user behind.
func (s *Service) RegisterInvited(ctx context.Context, email, password, name, token string) (Signup, error) {
	var out Signup
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		u, err := s.identity.Register(ctx, email, password, name)
		if err != nil {
			return err
		}
		j, err := s.invitations.Redeem(ctx, token, u.ID, u.Email)
		if err != nil {
			return err
		}
		o, err := s.store.org(ctx, j.OrgID)
		if err != nil {
			return err
		}
		pair, err := s.identity.IssueTokens(ctx, u.ID)
		if err != nil {
			return err
		}
		out = Signup{User: u, Membership: Membership{Org: o.org(), Role: auth.Role(j.Role)}, Tokens: pair}
		return nil
	})
	return out, err
}

// Join implements orgsapi.Orgs: the membership an accepted invitation gives, with the event
// of adding a member.
func (s *Service) Join(ctx context.Context, orgID, userID int64, role string) (orgsapi.Organization, error) {
	r := auth.Role(role)
	if !r.Valid() {
		return orgsapi.Organization{}, fmt.Errorf("orgs: join with unknown role %q", role)
	}
	var o orgRow
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		ctx, err := s.db.SetTenant(ctx, orgID)
		if err != nil {
			return err
		}
		if o, err = s.store.org(ctx, orgID); err != nil {
			return err
		}
		users, err := s.identity.UsersByID(ctx, []int64{userID})
		if err != nil {
			return err
		}
		u, ok := users[userID]
		if !ok {
			return fmt.Errorf("orgs: join: user %d does not exist", userID)
		}
		row, err := s.store.insertMember(ctx, orgID, userID, r)
		if err != nil {
			return err
		}
		actor := &events.Actor{Type: "user", ID: &userID}
		return s.record(ctx, orgID, "member.added", row.member(u), nil, actor)
	})
	return o.org(), err
}

// RenderOrganization implements orgsapi.Orgs.
func (s *Service) RenderOrganization(o orgsapi.Organization, role string) any {
	return toOrgJSON(Membership{Org: o, Role: auth.Role(role)})
}
