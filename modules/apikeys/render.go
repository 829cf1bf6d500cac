package apikeys

import (
	"time"

	"github.com/mini-crm/crm/platform/web"
)

// keyJSON is an API key as the list renders it, and as its events carry it: never its token
// or the token's hash.
type keyJSON struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Role       string    `json:"role"`
	Prefix     string    `json:"prefix"`
	CreatedBy  int64     `json:"created_by"`
	CreatedAt  web.Time  `json:"created_at"`
	ExpiresAt  *web.Time `json:"expires_at"`
	LastUsedAt *web.Time `json:"last_used_at"`
	RevokedAt  *web.Time `json:"revoked_at"`
}

func toJSON(k Key) keyJSON {
	return keyJSON{ID: k.ID, Name: k.Name, Role: k.Role, Prefix: k.Prefix, CreatedBy: k.CreatedBy,
		CreatedAt: web.Time(k.CreatedAt), ExpiresAt: timeOrNil(k.ExpiresAt), LastUsedAt: timeOrNil(k.LastUsedAt),
		RevokedAt: timeOrNil(k.RevokedAt)}
}

// createdJSON is the answer of a create: the key and, this once, its token.
type createdJSON struct {
	keyJSON
	Token string `json:"token"`
}

func timeOrNil(t *time.Time) *web.Time {
	if t == nil {
		return nil
	}
	v := web.Time(*t)
	return &v
}
