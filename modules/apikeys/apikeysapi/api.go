// Package apikeysapi is the public contract of the apikeys module, for work done later on a
// key's behalf (a durable job started by a request made with a key re-checks the key when it
// runs, so that a key revoked in the meantime, or whose creator left, acts no more).
package apikeysapi

import "context"

// Keys is the facade of the apikeys module.
type Keys interface {
	// ActingRole returns the role key keyID of organization orgID acts with now: the lower
	// of the key's own role and its creator's current role in the organization. A key that
	// does not exist there, is revoked or expired, or whose creator is no longer a member
	// gives the 401 invalid_api_key (auth.ErrInvalidAPIKey). ctx must be scoped to orgID.
	ActingRole(ctx context.Context, orgID, keyID int64) (string, error)
}
