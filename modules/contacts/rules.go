package contacts

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/auth"
)

// ownership is the policy for contacts: a member acts only on their own. Its errors are those of platform/auth
// (auth.ErrNotOwner, auth.ErrCreateForOther, auth.ErrReassignForbidden) with sentences that
// name contacts; an owner outside the organization is orgsapi.ErrOwnerNotMember.
var ownership = auth.NewOwnership("contacts")

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
