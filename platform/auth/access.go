package auth

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/mini-crm/crm/platform/apperr"
)

// Memberships answers which role a user has in an organization. The orgs module provides it.
type Memberships interface {
	// RoleOf returns ErrNotMember when userID is not a member of orgID (or orgID does not exist).
	RoleOf(ctx context.Context, orgID, userID int64) (Role, error)
}

// Accounts tells whether the user a token names still exists. The identity module provides it.
type Accounts interface {
	UserExists(ctx context.Context, userID int64) (bool, error)
}

// ErrNotMember is the 403 for a user outside the organization named by the request. It is
// the same whether or not the organization exists.
var ErrNotMember = apperr.Forbidden("not_a_member", "you are not a member of this organization")

// Errors of authentication.
var (
	ErrMissingToken = apperr.Unauthenticated("missing_token", "an Authorization: Bearer <access token> header is required")
	ErrInvalidToken = apperr.Unauthenticated("invalid_token", "the access token is invalid or expired")
)

// ParseOrgID parses an organization id: a positive decimal integer of at most 19 digits.
func ParseOrgID(s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, errors.New("bad organization id")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("bad organization id")
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, errors.New("bad organization id")
	}
	return n, nil
}

// APIKeyPrefix starts every API key token: a bearer credential that starts with it is a key,
// anything else an access token.
const APIKeyPrefix = "crm_"

// APIKey is what an API key's token authenticates: the key, its organization, the user who
// created it (whom it acts for) and the role it acts with, the lower of the key's role and its
// creator's current role in the organization.
type APIKey struct {
	ID        int64
	OrgID     int64
	CreatorID int64
	Role      Role
}

// APIKeys finds the key of a token. The API keys module provides it. Every call asks the
// database, so that a revoked or deleted key stops working at once on every replica.
type APIKeys interface {
	// Authenticate returns ErrInvalidAPIKey for a token of no key, or of a key that is revoked,
	// expired, or whose creator is no longer a member of its organization.
	Authenticate(ctx context.Context, token string) (APIKey, error)
}

// Errors of API keys.
var (
	ErrInvalidAPIKey = apperr.Unauthenticated("invalid_api_key",
		"the API key is unknown, revoked or expired, or its creator has left the organization")
	// ErrAPIKeyNotAllowed is the answer of a route only a person may use (signing in, their own
	// account, creating organizations, managing members, invitations, API keys and webhooks),
	// to any API key whatever its role: a key can never create access that outlives it.
	ErrAPIKeyNotAllowed = apperr.Forbidden("api_key_not_allowed",
		"this route is for people signed in with an access token; an API key cannot use it")
)

// RoleRank orders roles: 0 for the owner, larger for less powerful roles, -1 for an unknown one.
func RoleRank(r Role) int { return slices.Index(Roles, r) }

// LowerRole returns the less powerful of a and b.
func LowerRole(a, b Role) Role {
	if RoleRank(a) >= RoleRank(b) {
		return a
	}
	return b
}
