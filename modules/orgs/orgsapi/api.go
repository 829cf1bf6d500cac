// Package orgsapi is the public contract of the orgs module: organizations and who belongs
// to them with which role.
package orgsapi

import (
	"context"
	"sync"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
)

// Organization is a tenant.
type Organization struct {
	ID              int64
	Name            string
	DefaultCurrency string
	// TimeZone is the organization's IANA time zone name; "" or "UTC" for UTC. "Today" (the
	// due-date rule, overdue tasks) and the months of reports are taken in it.
	TimeZone  string
	CreatedAt time.Time
}

var locations sync.Map // time zone name → *time.Location

// Location returns the organization's time zone, UTC when it has none. The name was checked
// when it was stored; one the binary no longer knows is UTC too.
func (o Organization) Location() *time.Location {
	if o.TimeZone == "" || o.TimeZone == "UTC" {
		return time.UTC
	}
	if l, ok := locations.Load(o.TimeZone); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		return time.UTC
	}
	locations.Store(o.TimeZone, l)
	return l
}

// Orgs is the facade of the orgs module.
type Orgs interface {
	// Organization returns the organization, ErrOrganizationNotFound when it does not exist.
	Organization(ctx context.Context, orgID int64) (Organization, error)
	// Join makes user userID a member of organization orgID with role, inside the caller's
	// transaction, which it leaves scoped to orgID: the membership rules and the member.added
	// event of adding a member apply, with the joining user as the event's actor (an accepted
	// invitation). ErrAlreadyMember when the user is a member already.
	Join(ctx context.Context, orgID, userID int64, role string) (Organization, error)
	// RenderOrganization returns o as GET /organizations/{org_id} renders it for a member
	// with role, so that another module answering with an organization renders it the same way.
	RenderOrganization(o Organization, role string) any
}

// ErrOrganizationNotFound is returned for an organization that does not exist.
var ErrOrganizationNotFound = apperr.NotFound("organization_not_found", "the organization does not exist")

// ErrAlreadyMember is the 409 for making a member of someone who is one already.
var ErrAlreadyMember = apperr.Conflict("already_member", "this user is already a member of the organization")

// ErrOwnerNotMember is the 400 for a record (contact, deal) given an owner_id that is not a
// member of its organization: records are always owned by a member.
var ErrOwnerNotMember = apperr.InvalidField("owner_not_member", "owner_id", "must be a member of this organization",
	"owner_id must be the user id of a member of this organization")

// MemberRemoved is emitted with kernel.Emit inside the transaction that removes a member from
// an organization. Handlers run in that transaction (what the member leaves behind, such as
// the API keys they created, is revoked with the removal) and their error fails it.
type MemberRemoved struct {
	OrgID, UserID int64
}

// MemberRoleChanged is emitted with kernel.Emit inside the transaction that changes a
// member's role, after the change. Handlers run in that transaction (a member who is no
// longer owner or admin leaves no pending invitation behind) and their error fails it.
type MemberRoleChanged struct {
	OrgID, UserID int64
	Role          string
}

// OrganizationClosed is emitted with kernel.Emit inside the transaction that closes an
// organization (its deletion), so that what serves its members stops with the commit.
type OrganizationClosed struct {
	OrgID int64
}

// OrganizationCreated is emitted with kernel.Emit inside the transaction that creates an
// organization (sign-up or POST /organizations), after its owner is added and under its
// tenant scope. Handlers write the new organization's first rows of their own (its default
// pipeline) in that transaction, and their error fails the creation.
type OrganizationCreated struct {
	OrgID int64
}
