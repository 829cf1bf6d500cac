package invitations

import (
	"time"

	"github.com/mini-crm/crm/platform/web"
)

// invitationJSON is an invitation as the organization's list renders it: never its token or
// the token's hash.
type invitationJSON struct {
	ID         int64     `json:"id"`
	Email      string    `json:"email"`
	Role       string    `json:"role"`
	Status     string    `json:"status"`
	InvitedBy  int64     `json:"invited_by"`
	ExpiresAt  web.Time  `json:"expires_at"`
	CreatedAt  web.Time  `json:"created_at"`
	AcceptedAt *web.Time `json:"accepted_at"`
	AcceptedBy *int64    `json:"accepted_by"`
	RevokedAt  *web.Time `json:"revoked_at"`
}

func toJSON(i Invitation, now time.Time) invitationJSON {
	return invitationJSON{ID: i.ID, Email: i.Email, Role: i.Role, Status: i.Status(now), InvitedBy: i.InvitedBy,
		ExpiresAt: web.Time(i.ExpiresAt), CreatedAt: web.Time(i.CreatedAt), AcceptedAt: timeOrNil(i.AcceptedAt),
		AcceptedBy: i.AcceptedBy, RevokedAt: timeOrNil(i.RevokedAt)}
}

// createdJSON is the answer of a create: the invitation and, this once, its token.
type createdJSON struct {
	invitationJSON
	Token string `json:"token"`
}

// addressedJSON is a pending invitation as its addressee lists it: with the id and name of
// the organization it invites to.
type addressedJSON struct {
	invitationJSON
	OrganizationID   int64  `json:"organization_id"`
	OrganizationName string `json:"organization_name"`
}

func toAddressedJSON(a Addressed, now time.Time) addressedJSON {
	return addressedJSON{invitationJSON: toJSON(a.Invitation, now), OrganizationID: a.Org.ID, OrganizationName: a.Org.Name}
}

// acceptedJSON is the answer of an accept: the organization joined, as its GET renders it.
type acceptedJSON struct {
	Organization any `json:"organization"`
}

func timeOrNil(t *time.Time) *web.Time {
	if t == nil {
		return nil
	}
	v := web.Time(*t)
	return &v
}
