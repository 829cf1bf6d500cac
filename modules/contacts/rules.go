package contacts

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/auth"
)

// ownership is the policy for contacts: a member acts only on their own. Its errors are those of platform/auth
// (auth.ErrNotOwner, auth.ErrCreateForOther, auth.ErrReassignForbidden) with sentences that
// name contacts; an owner outside the organization is orgsapi.ErrOwnerNotMember.
var ownership = auth.NewOwnership("contacts")

// MaxSearchLength bounds the search parameter of the contact list.
const MaxSearchLength = 200

// Bounds of a contact's tags: at most MaxTags of them, each of 1 to MaxTagLength characters
// once trimmed.
const (
	MaxTags      = 20
	MaxTagLength = 50
)

// TagMessage explains the tag format, after the field name.
const TagMessage = "must be 1 to 50 characters long, not counting surrounding white space"

// validTag reports whether s is a tag as the API accepts it: 1 to 50 characters once trimmed.
func validTag(s string) bool {
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	return n >= 1 && n <= MaxTagLength
}

// normalizeTag is a tag as it is stored and filtered on: trimmed and in lower case, so that
// "VIP " and "vip" are one tag.
func normalizeTag(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// normalizeTags normalizes each tag and drops the repeats, keeping the order in which the
// tags first appear (the order the client gave them). It never returns nil: a contact
// without tags has an empty list.
func normalizeTags(in []string) []string {
	out := make([]string, 0, len(in))
	for _, t := range in {
		if t = normalizeTag(t); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

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

// searchSeparator joins the searched fields in the searched text (contacts.search_doc and
// contact_search.doc); a search holding it is matched field by field instead.
const searchSeparator = '\x01'

// likePattern turns a search text into an ILIKE pattern matching it as a substring, with
// the pattern characters of the text taken literally.
func likePattern(search string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(search) + "%"
}
