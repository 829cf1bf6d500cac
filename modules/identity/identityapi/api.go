// Package identityapi is the public contract of the identity module: users, credentials and
// tokens.
package identityapi

import (
	"context"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
)

// User is a registered person.
type User struct {
	ID        int64
	Email     string
	Name      string
	CreatedAt time.Time
}

// TokenPair is what a client receives after signing in.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int // seconds until the access token expires
}

// Identity is the facade of the identity module.
type Identity interface {
	// Register creates a user. It joins the caller's transaction when there is one.
	Register(ctx context.Context, email, password, name string) (User, error)
	// IssueTokens starts a new refresh token family for the user.
	IssueTokens(ctx context.Context, userID int64) (TokenPair, error)
	// UserByEmail finds a user by email, compared case-insensitively.
	UserByEmail(ctx context.Context, email string) (User, error)
	// UsersByID returns the users with the given ids that exist.
	UsersByID(ctx context.Context, ids []int64) (map[int64]User, error)
}

// Errors of the facade.
var (
	ErrUserNotFound = apperr.NotFound("user_not_found", "no user is registered with this email")
	ErrEmailTaken   = apperr.Conflict("email_taken", "a user with this email is already registered")
)
