package auth

import (
	"context"
	"errors"
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
