// Package invitationsapi is the public contract of the invitations module, for sign-up with an
// invitation: the orgs module redeems the token inside the transaction that creates the account.
package invitationsapi

import (
	"context"

	"github.com/mini-crm/crm/platform/apperr"
)

// Joined is the membership a redeemed invitation gave.
type Joined struct {
	OrgID int64
	// Role is the role the new member got: the lower of the invited role and the inviter's
	// role when the invitation was redeemed.
	Role string
}

// Invitations is the facade of the invitations module.
type Invitations interface {
	// Redeem uses the invitation of token for user userID, whose email is email, inside the
	// caller's transaction (it opens one when there is none): the user joins the invitation's
	// organization through the orgs module, and the invitation is used up. The transaction is
	// left scoped to that organization. ErrInvitationNotFound when the token is unknown,
	// used, revoked or expired, or its inviter may no longer invite; ErrEmailMismatch when
	// the invitation is addressed to another email.
	Redeem(ctx context.Context, token string, userID int64, email string) (Joined, error)
}

// Errors of the facade.
var (
	ErrInvitationNotFound = apperr.NotFound("invitation_not_found",
		"no pending invitation has this token: it is unknown, used, revoked or expired, or its inviter may no longer invite")
	ErrEmailMismatch = apperr.Forbidden("invitation_email_mismatch",
		"this invitation is addressed to another email")
)
