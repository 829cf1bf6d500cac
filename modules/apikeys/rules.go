package apikeys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
)

// tokenBytes is how much randomness a token carries.
const tokenBytes = 32

// tokenLength is the length of every token: the prefix and 32 bytes in unpadded base64url.
var tokenLength = len(auth.APIKeyPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// prefixLength is how many characters after "crm_" a key shows in lists.
const prefixLength = 8

// newToken returns a fresh token: "crm_" and 32 random bytes in unpadded base64url.
func newToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return auth.APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// prefixOf is what a list shows of a token: the first 8 characters after "crm_".
func prefixOf(token string) string {
	return token[len(auth.APIKeyPrefix) : len(auth.APIKeyPrefix)+prefixLength]
}

// hashOf is what is stored of a token. A token carries 256 random bits, so a fast hash is
// enough: there is nothing to guess that a slow one would protect.
func hashOf(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// wellFormed reports whether s can be a token at all, so that anything else is refused
// without asking the database.
func wellFormed(s string) bool {
	if len(s) != tokenLength {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s[len(auth.APIKeyPrefix):])
	return err == nil
}

// keyRoles are the roles a key may have: never owner.
var keyRoles = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleMember}

// errRoleAboveCaller is the 403 of a key that would have more rights than its creator.
var errRoleAboveCaller = auth.ErrForbidden.WithDetail("an API key cannot have a role above your own")

// errExpiryInPast is the 400 of an expiry that is not in the future.
var errExpiryInPast = apperr.InvalidField("validation_failed", "expires_at", "must be in the future",
	"expires_at must be in the future")

// checkCreate decides whether a caller with role actor may create a key with role and the
// expiry expires at time now: owners and admins may, with a role up to their own.
func checkCreate(actor, role auth.Role, expires *time.Time, now time.Time) error {
	if !actor.CanManageOrganization() {
		return auth.ErrForbidden
	}
	if auth.RoleRank(role) < auth.RoleRank(actor) {
		return errRoleAboveCaller
	}
	if expires != nil && !expires.After(now) {
		return errExpiryInPast
	}
	return nil
}

// effectiveRole is the role a key acts with: never more than its creator has now.
func effectiveRole(key, creator auth.Role) auth.Role { return auth.LowerRole(key, creator) }
