package auth

import "github.com/mini-crm/crm/platform/apperr"

// Ownership is the role policy for records that have an owner (contacts, deals, and
// tasks through their deal): a member acts only on what they own; owners, admins and
// managers act on anything. Its errors name the kind of record.
type Ownership struct {
	ErrNotOwner       *apperr.Error // change or delete someone else's record
	ErrCreateForOther *apperr.Error // create a record owned by someone else
	ErrReassign       *apperr.Error // give a record to another owner
}

// NewOwnership returns the policy for records called plural ("deals") in messages.
func NewOwnership(plural string) Ownership {
	return Ownership{
		ErrNotOwner: apperr.Forbidden("not_owner", "members can change or delete only the "+plural+" they own"),
		ErrCreateForOther: apperr.Forbidden("not_owner", "members can create "+plural+
			" only as their own: leave owner_id out or set it to your own user id"),
		ErrReassign: apperr.Forbidden("reassign_forbidden", "only owners, admins and managers can give "+plural+" to another owner"),
	}
}

// CheckCreate decides whether p may create a record owned by ownerID.
func (o Ownership) CheckCreate(p Principal, ownerID int64) error {
	if ownerID != p.UserID && !p.Role.CanActOnOthers() {
		return o.ErrCreateForOther
	}
	return nil
}

// CheckModify decides whether p may change or delete a record owned by ownerID.
func (o Ownership) CheckModify(p Principal, ownerID int64) error {
	if !p.CanModifyOwned(ownerID) {
		return o.ErrNotOwner
	}
	return nil
}

// CheckReassign decides whether p may move a record from one owner to another; setting the
// owner a record already has is no reassignment.
func (o Ownership) CheckReassign(p Principal, current, next int64) error {
	if current != next && !p.Role.CanActOnOthers() {
		return o.ErrReassign
	}
	return nil
}

// ErrOwnerFilterForbidden is the 403 for a member filtering a list by owner.
var ErrOwnerFilterForbidden = apperr.Forbidden("owner_filter_forbidden", "members cannot filter lists by owner_id")

// CheckOwnerFilter decides whether a role may filter a list by owner.
func CheckOwnerFilter(role Role, ownerID *int64) error {
	if ownerID != nil && !role.CanActOnOthers() {
		return ErrOwnerFilterForbidden
	}
	return nil
}
