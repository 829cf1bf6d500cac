// Package auth is the domain side of access: tokens, the principal of a request (who acts, in
// which organization, with which role) and the checks services make on it. It knows nothing of
// HTTP: the web layer verifies tokens and resolves the tenant (platform/web's Guard) and puts
// the principal into the context. Which role a user has in an organization is a domain fact:
// the orgs module provides it through the Memberships interface declared here.
package auth

import (
	"context"
	"errors"
	"slices"

	"github.com/mini-crm/crm/platform/apperr"
)

// Role is a member's role in an organization.
type Role string

// The roles, from most to least powerful.
const (
	RoleOwner   Role = "owner"
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleMember  Role = "member"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleManager, RoleMember}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// CanManageOrganization is true for the roles allowed to change organization settings and
// members (owner and admin).
func (r Role) CanManageOrganization() bool { return r == RoleOwner || r == RoleAdmin }

// CanActOnOthers is true for the roles that may change records owned by someone else and
// filter lists by owner (everyone but member).
func (r Role) CanActOnOthers() bool { return r == RoleOwner || r == RoleAdmin || r == RoleManager }

// CanRollBackStage is true for the roles allowed to move a deal to an earlier stage.
func (r Role) CanRollBackStage() bool { return r == RoleOwner || r == RoleAdmin }

// Principal is who makes a request and in which organization.
type Principal struct {
	UserID int64
	OrgID  int64 // 0 outside a tenant route
	Role   Role  // "" outside a tenant route
	// KeyID is the API key a request authenticated with, 0 for a person signed in with an
	// access token. A key acts for its creator: UserID is the creator, Role the lower of the
	// key's role and the creator's current one.
	KeyID int64
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal carried by ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// ErrNoPrincipal is returned when a service that needs a caller runs without one.
var ErrNoPrincipal = apperr.Unauthenticated("unauthenticated", "authentication is required")

// ErrForbidden is the generic 403 of a role check.
var ErrForbidden = apperr.Forbidden("forbidden", "your role in this organization does not allow this action")

// Caller returns the principal of ctx or ErrNoPrincipal.
func Caller(ctx context.Context) (Principal, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.UserID == 0 {
		return p, ErrNoPrincipal
	}
	return p, nil
}

// TenantCaller returns the principal of ctx when it carries an organization.
func TenantCaller(ctx context.Context) (Principal, error) {
	p, err := Caller(ctx)
	if err != nil {
		return p, err
	}
	if p.OrgID == 0 || !p.Role.Valid() {
		return p, errors.New("auth: tenant principal expected but the request has no organization")
	}
	return p, nil
}

// RequireRole returns ErrForbidden unless the caller's role is one of roles.
func RequireRole(ctx context.Context, roles ...Role) (Principal, error) {
	p, err := TenantCaller(ctx)
	if err != nil {
		return p, err
	}
	if !slices.Contains(roles, p.Role) {
		return p, ErrForbidden
	}
	return p, nil
}

// RequireManager returns the tenant caller when a person (never an API key) who may manage
// the organization (owner or admin) makes the request: for what grants or manages access
// (API keys, invitations), which a key must not do whatever its role.
func RequireManager(ctx context.Context) (Principal, error) {
	p, err := TenantCaller(ctx)
	if err != nil {
		return p, err
	}
	if p.KeyID != 0 {
		return p, ErrAPIKeyNotAllowed
	}
	if !p.Role.CanManageOrganization() {
		return p, ErrForbidden
	}
	return p, nil
}

// CanModifyOwned reports whether the caller may change a record owned by ownerID:
// owner, admin and manager may change any; a member only their own.
func (p Principal) CanModifyOwned(ownerID int64) bool {
	return p.Role.CanActOnOthers() || p.UserID == ownerID
}

// RequireOwnership returns ErrNotOwner with the given sentence unless the caller may change
// a record owned by ownerID.
func RequireOwnership(ctx context.Context, ownerID int64, detail string) (Principal, error) {
	p, err := TenantCaller(ctx)
	if err != nil {
		return p, err
	}
	if !p.CanModifyOwned(ownerID) {
		return p, ErrNotOwner.WithDetail(detail)
	}
	return p, nil
}
