package contacts

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
)

// Errors of the contact rules.
var (
	ErrNotOwner = apperr.Forbidden("not_owner",
		"members can change or delete only the contacts they own")
	ErrCreateForOther = apperr.Forbidden("not_owner",
		"members can create contacts only as their own: leave owner_id out or set it to your own user id")
	ErrReassignForbidden = apperr.Forbidden("reassign_forbidden",
		"only owners, admins and managers can give a contact to another owner")
	ErrOwnerFilterForbidden = apperr.Forbidden("owner_filter_forbidden",
		"members cannot filter lists by owner_id")
	ErrOwnerNotMember = apperr.InvalidField("owner_not_member", "owner_id", "must be a member of this organization",
		"owner_id must be the user id of a member of this organization")
)

// MaxSearchLength bounds the search parameter of the contact list.
const MaxSearchLength = 200

var phonePattern = regexp.MustCompile(`^[0-9 +()\-]{1,32}$`)

// PhoneMessage explains the phone format, after the field name.
const PhoneMessage = "must be at most 32 characters of digits, spaces and + - ( ), with at least one digit"

// validPhone reports whether s is a phone number as the API accepts it: digits, spaces and
// + - ( ), at most 32 characters, with at least one digit.
func validPhone(s string) bool {
	return phonePattern.MatchString(s) && strings.ContainsAny(s, "0123456789")
}

// checkCreateOwner decides whether the caller may create a contact owned by ownerID.
func checkCreateOwner(p auth.Principal, ownerID int64) error {
	if ownerID != p.UserID && !p.Role.CanActOnOthers() {
		return ErrCreateForOther
	}
	return nil
}

// checkModify decides whether the caller may change or delete a contact owned by ownerID.
func checkModify(p auth.Principal, ownerID int64) error {
	if !p.CanModifyOwned(ownerID) {
		return ErrNotOwner
	}
	return nil
}

// checkReassign decides whether the caller may move a contact from one owner to another.
// Setting the owner a contact already has is no reassignment.
func checkReassign(p auth.Principal, current, next int64) error {
	if current != next && !p.Role.CanActOnOthers() {
		return ErrReassignForbidden
	}
	return nil
}

// checkOwnerFilter decides whether the caller may filter a list by owner.
func checkOwnerFilter(role auth.Role, ownerID *int64) error {
	if ownerID != nil && !role.CanActOnOthers() {
		return ErrOwnerFilterForbidden
	}
	return nil
}

// hasDeals is the 409 for deleting a contact that deals still reference.
func hasDeals(n int64) error {
	word := "deals reference"
	if n == 1 {
		word = "deal references"
	}
	return contactsapi.ErrContactHasDeals.WithDetail(
		fmt.Sprintf("the contact cannot be deleted: %d %s it; delete those deals or move them to another contact first", n, word))
}

// likePattern turns a search text into an ILIKE pattern matching it as a substring, with
// the pattern characters of the text taken literally.
func likePattern(search string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(search) + "%"
}
