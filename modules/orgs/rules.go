package orgs

import (
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
)

// Errors of the membership rules.
var (
	// ErrOwnerRoleRequired is the 403 for an admin doing what only an owner may do to the
	// owner role: grant it, or change or remove a member who has it.
	ErrOwnerRoleRequired = apperr.Forbidden("owner_role_required", "only an owner can grant the owner role or change or remove an owner")
	ErrLastOwner         = apperr.Conflict("last_owner", "an organization must keep at least one owner; make someone else owner first")
)

// The two sentences of ErrOwnerRoleRequired, by what was refused.
var (
	errOwnerOnlyGrant  = ErrOwnerRoleRequired.WithDetail("only an owner can grant the owner role")
	errOwnerOnlyChange = ErrOwnerRoleRequired.WithDetail("only an owner can change or remove another owner")
)

// checkGrant decides whether actor may give role to a new member.
func checkGrant(actor, role auth.Role) error {
	if !actor.CanManageOrganization() {
		return auth.ErrForbidden
	}
	if role == auth.RoleOwner && actor != auth.RoleOwner {
		return errOwnerOnlyGrant
	}
	return nil
}

// checkRoleChange decides whether actor may change a member's role from current to next.
func checkRoleChange(actor, current, next auth.Role) error {
	if !actor.CanManageOrganization() {
		return auth.ErrForbidden
	}
	if current == auth.RoleOwner && actor != auth.RoleOwner {
		return errOwnerOnlyChange
	}
	return checkGrant(actor, next)
}

// checkRemoval decides whether actor may remove a member whose role is target. Anyone may
// leave an organization.
func checkRemoval(actor auth.Role, self bool, target auth.Role) error {
	if self {
		return nil
	}
	if !actor.CanManageOrganization() {
		return auth.ErrForbidden
	}
	if target == auth.RoleOwner && actor != auth.RoleOwner {
		return errOwnerOnlyChange
	}
	return nil
}

// checkLastOwner refuses to take the owner role away from the only owner.
func checkLastOwner(current auth.Role, next *auth.Role, owners int) error {
	losesOwner := current == auth.RoleOwner && (next == nil || *next != auth.RoleOwner)
	if losesOwner && owners <= 1 {
		return ErrLastOwner
	}
	return nil
}
