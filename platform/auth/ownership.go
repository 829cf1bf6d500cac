package auth

import "github.com/mini-crm/crm/platform/apperr"

// Errors of the ownership policy, one per refusal whatever the kind of record. An Ownership
// answers with copies of them that name its records; errors.Is matches those copies with
// these errors.
var (
	// ErrNotOwner is the 403 for a member changing or deleting a record someone else owns.
	ErrNotOwner = apperr.Forbidden("not_owner", "members can change or delete only the records they own")
	// ErrCreateForOther is the 403 for a member creating a record owned by someone else.
	ErrCreateForOther = apperr.Forbidden("create_for_other_forbidden",
		"members can create records only as their own: leave owner_id out or set it to your own user id")
	// ErrReassignForbidden is the 403 for a member giving a record to another owner.
	ErrReassignForbidden = apperr.Forbidden("reassign_forbidden", "only owners, admins and managers can give records to another owner")
)

// Ownership is the role policy for records that have an owner (contacts, deals, and
// tasks through their deal): a member acts only on what they own; owners, admins and
// managers act on anything. Its errors name the kind of record and are derived from the
// errors of the policy above; a field left nil answers with that error itself.
type Ownership struct {
	ErrNotOwner       *apperr.Error // change or delete someone else's record
	ErrCreateForOther *apperr.Error // create a record owned by someone else
	ErrReassign       *apperr.Error // give a record to another owner
}

// NewOwnership returns the policy for records called plural ("deals") in messages.
func NewOwnership(plural string) Ownership {
	return Ownership{
		ErrNotOwner: ErrNotOwner.WithDetail("members can change or delete only the " + plural + " they own"),
		ErrCreateForOther: ErrCreateForOther.WithDetail("members can create " + plural +
			" only as their own: leave owner_id out or set it to your own user id"),
		ErrReassign: ErrReassignForbidden.WithDetail("only owners, admins and managers can give " + plural + " to another owner"),
	}
}

// refusal returns e, or fallback when the policy left e unset, so that a refusal is never a
// nil *apperr.Error inside a non-nil error.
func refusal(e, fallback *apperr.Error) error {
	if e == nil {
		return fallback
	}
	return e
}

// CheckCreate decides whether p may create a record owned by ownerID.
func (o Ownership) CheckCreate(p Principal, ownerID int64) error {
	if ownerID != p.UserID && !p.Role.CanActOnOthers() {
		return refusal(o.ErrCreateForOther, ErrCreateForOther)
	}
	return nil
}

// CheckModify decides whether p may change or delete a record owned by ownerID.
func (o Ownership) CheckModify(p Principal, ownerID int64) error {
	if !p.CanModifyOwned(ownerID) {
		return refusal(o.ErrNotOwner, ErrNotOwner)
	}
	return nil
}

// CheckReassign decides whether p may move a record from one owner to another; setting the
// owner a record already has is no reassignment.
func (o Ownership) CheckReassign(p Principal, current, next int64) error {
	if current != next && !p.Role.CanActOnOthers() {
		return refusal(o.ErrReassign, ErrReassignForbidden)
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
