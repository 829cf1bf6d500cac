package invitations

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
)

// Validity is how long an invitation can be accepted.
const Validity = 7 * 24 * time.Hour

// tokenPrefix tells an invitation token apart from an API key or a refresh token.
const tokenPrefix = "inv_"

// tokenBytes is how much randomness a token carries.
const tokenBytes = 32

// tokenLength is the length of every token: the prefix and 32 bytes in unpadded base64url.
var tokenLength = len(tokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// newToken returns a fresh token: "inv_" and 32 random bytes in unpadded base64url.
func newToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
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
	if len(s) != tokenLength || !strings.HasPrefix(s, tokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s[len(tokenPrefix):])
	return err == nil
}

// normalEmail is the form emails are compared in: trimmed, lower case.
func normalEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Statuses of an invitation.
const (
	StatusPending  = "pending"
	StatusAccepted = "accepted"
	StatusRevoked  = "revoked"
	StatusExpired  = "expired"
)

// Statuses are the statuses in the order the documentation lists them.
var Statuses = []string{StatusPending, StatusAccepted, StatusRevoked, StatusExpired}

// status is what an invitation is at time now.
func status(acceptedAt, revokedAt *time.Time, expiresAt, now time.Time) string {
	switch {
	case acceptedAt != nil:
		return StatusAccepted
	case revokedAt != nil:
		return StatusRevoked
	case !expiresAt.After(now):
		return StatusExpired
	}
	return StatusPending
}

// errOwnerOnlyInvite is the 403 of an admin inviting an owner.
var errOwnerOnlyInvite = auth.ErrForbidden.WithDetail("only an owner can invite an owner")

// errRoleInvalid is the 400 of a role that is not one of the roles.
var errRoleInvalid = apperr.InvalidField("validation_failed", "role", "must be one of owner admin manager member",
	"role must be one of owner, admin, manager, member")

// checkInvite decides whether a member with role actor may invite someone as role: owners
// and admins may, and only an owner may invite an owner (as only an owner may grant it).
func checkInvite(actor, role auth.Role) error {
	if !actor.CanManageOrganization() {
		return auth.ErrForbidden
	}
	if !role.Valid() {
		return errRoleInvalid
	}
	if role == auth.RoleOwner && actor != auth.RoleOwner {
		return errOwnerOnlyInvite
	}
	return nil
}

// grantedRole is the role accepting an invitation gives: never more than its inviter has
// when it is accepted. ok is false when the inviter may no longer invite (no longer owner or
// admin, or no longer a member), which voids the invitation.
func grantedRole(invited, inviter auth.Role) (auth.Role, bool) {
	if !inviter.CanManageOrganization() {
		return "", false
	}
	return auth.LowerRole(invited, inviter), true
}
