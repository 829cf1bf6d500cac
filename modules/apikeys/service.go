package apikeys

import (
	"context"
	"slices"
	"time"

	"github.com/mini-crm/crm/modules/apikeys/apikeysapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/listing"
)

// Event types of API keys.
const (
	EventCreated = "api_key.created"
	EventRevoked = "api_key.revoked"
)

// recordFunc writes the event of a change to a key inside the change's transaction; system
// says the service acted by itself (a key revoked because its creator left), else the
// principal of ctx is the actor.
type recordFunc func(ctx context.Context, orgID int64, typ string, key Key, system bool) error

// Service implements API keys: managing them (owners and admins, people only) and finding
// the key of a token for the guard.
type Service struct {
	db     *database.DB
	store  store
	usage  *usage
	now    func() time.Time
	record recordFunc
}

var (
	_ auth.APIKeys    = (*Service)(nil)
	_ apikeysapi.Keys = (*Service)(nil)
)

// Created is a new key with its token, which is never shown again.
type Created struct {
	Key   Key
	Token string
}

// List lists the organization's keys, revoked ones included, oldest first.
func (s *Service) List(ctx context.Context, w listing.Window) (database.Result[Key], error) {
	p, err := auth.RequireManager(ctx)
	if err != nil {
		return database.Result[Key]{}, err
	}
	return s.store.list(ctx, p.OrgID, w)
}

// Create makes a key acting for the caller with role, until expires when given.
func (s *Service) Create(ctx context.Context, name string, role auth.Role, expires *time.Time) (Created, error) {
	p, err := auth.RequireManager(ctx)
	if err != nil {
		return Created{}, err
	}
	if !slices.Contains(keyRoles, role) {
		return Created{}, apperr.InvalidField("validation_failed", "role", "must be one of admin manager member",
			"role must be one of admin, manager, member")
	}
	if err := checkCreate(p.Role, role, expires, s.now()); err != nil {
		return Created{}, err
	}
	token := newToken()
	var k Key
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		k, err = s.store.insert(ctx, p.OrgID, name, string(role), prefixOf(token), hashOf(token), p.UserID, expires)
		if err != nil {
			return err
		}
		return s.event(ctx, EventCreated, k, false)
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Key: k, Token: token}, nil
}

// Revoke stops a key at once. Revoking a revoked key changes nothing.
func (s *Service) Revoke(ctx context.Context, id int64) error {
	p, err := auth.RequireManager(ctx)
	if err != nil {
		return err
	}
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		k, revoked, err := s.store.revoke(ctx, p.OrgID, id)
		if err != nil || !revoked {
			return err
		}
		return s.event(ctx, EventRevoked, k, false)
	})
}

// revokeCreatedBy revokes the keys a member who leaves the organization created, in the
// transaction of the removal; the service is the actor of their events.
func (s *Service) revokeCreatedBy(ctx context.Context, orgID, userID int64) error {
	keys, err := s.store.revokeCreatedBy(ctx, orgID, userID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.event(ctx, EventRevoked, k, true); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) event(ctx context.Context, typ string, k Key, system bool) error {
	if s.record == nil {
		return nil
	}
	return s.record(ctx, k.OrgID, typ, k, system)
}

// Authenticate implements auth.APIKeys: one statement finds the live key of the token and its
// creator's current role. The key's use is noted for the next batch of last_used_at writes.
func (s *Service) Authenticate(ctx context.Context, token string) (auth.APIKey, error) {
	if !wellFormed(token) {
		return auth.APIKey{}, auth.ErrInvalidAPIKey
	}
	a, err := s.store.authenticate(ctx, hashOf(token))
	if database.IsNoRows(err) {
		return auth.APIKey{}, auth.ErrInvalidAPIKey
	}
	if err != nil {
		return auth.APIKey{}, err
	}
	role := effectiveRole(auth.Role(a.KeyRole), auth.Role(a.CreatorRole))
	if !role.Valid() {
		return auth.APIKey{}, auth.ErrInvalidAPIKey
	}
	s.usage.touch(a.KeyID, a.OrgID, s.now())
	return auth.APIKey{ID: a.KeyID, OrgID: a.OrgID, CreatorID: a.CreatorID, Role: role}, nil
}

// ActingRole implements apikeysapi.Keys.
func (s *Service) ActingRole(ctx context.Context, orgID, keyID int64) (string, error) {
	a, err := s.store.acting(ctx, orgID, keyID)
	if database.IsNoRows(err) {
		return "", auth.ErrInvalidAPIKey
	}
	if err != nil {
		return "", err
	}
	role := effectiveRole(auth.Role(a.KeyRole), auth.Role(a.CreatorRole))
	if a.CreatorRole == "" || !role.Valid() {
		return "", auth.ErrInvalidAPIKey
	}
	return string(role), nil
}

// Flush writes the last_used_at of the keys used since the previous flush.
func (s *Service) Flush(ctx context.Context) error { return s.usage.flush(ctx) }
