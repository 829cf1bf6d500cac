package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
)

// Errors of the identity use cases.
var (
	ErrInvalidCredentials = apperr.Unauthenticated("invalid_credentials", "the email or password is incorrect")
	ErrInvalidRefresh     = apperr.Unauthenticated("invalid_refresh_token", "the refresh token is invalid, expired or revoked")
	ErrRefreshReused      = apperr.Unauthenticated("refresh_token_reused",
		"this refresh token was already used; every session started from the same sign-in has been revoked")
)

// errWrongPassword refuses a password change whose current password is wrong: the same
// invalid_credentials as a failed sign-in, with its own sentence.
var errWrongPassword = ErrInvalidCredentials.WithDetail("the current password is incorrect")

// Service implements the identity use cases and the identityapi.Identity facade.
type Service struct {
	db       *database.DB
	store    store
	tokens   *auth.Tokens
	hasher   *hasher
	throttle Throttle
	now      func() time.Time
}

var _ identityapi.Identity = (*Service)(nil)

// NormalizeEmail trims the address; comparisons are case-insensitive in the database.
func NormalizeEmail(email string) string { return strings.TrimSpace(email) }

// Register creates a user with a hashed password.
func (s *Service) Register(ctx context.Context, email, password, name string) (identityapi.User, error) {
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return identityapi.User{}, err
	}
	u, err := s.store.insertUser(ctx, NormalizeEmail(email), hash, strings.TrimSpace(name))
	if err != nil {
		return identityapi.User{}, err
	}
	return u.user(), nil
}

// IssueTokens starts a new refresh token family.
func (s *Service) IssueTokens(ctx context.Context, userID int64) (identityapi.TokenPair, error) {
	return s.issue(ctx, userID, newFamily())
}

func (s *Service) issue(ctx context.Context, userID int64, family pgtype.UUID) (identityapi.TokenPair, error) {
	access, err := s.tokens.Access(userID)
	if err != nil {
		return identityapi.TokenPair{}, err
	}
	plain, hash := auth.NewOpaque()
	if err := s.store.insertRefresh(ctx, userID, family, hash, s.now().Add(s.tokens.RefreshTTL())); err != nil {
		return identityapi.TokenPair{}, fmt.Errorf("store refresh token: %w", err)
	}
	return identityapi.TokenPair{AccessToken: access, RefreshToken: plain, ExpiresIn: int(s.tokens.AccessTTL().Seconds())}, nil
}

// UserByEmail implements identityapi.Identity.
func (s *Service) UserByEmail(ctx context.Context, email string) (identityapi.User, error) {
	u, err := s.store.userByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return identityapi.User{}, err
	}
	return u.user(), nil
}

// UsersByID implements identityapi.Identity.
func (s *Service) UsersByID(ctx context.Context, ids []int64) (map[int64]identityapi.User, error) {
	rows, err := s.store.usersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]identityapi.User, len(rows))
	for _, r := range rows {
		out[r.ID] = r.user()
	}
	return out, nil
}

// Login checks the credentials and starts a session. An unknown email costs the same hash
// as a wrong password, so the two cannot be told apart. Attempts are throttled per client
// address and per account before the password is looked at.
func (s *Service) Login(ctx context.Context, ip, email, password string) (identityapi.TokenPair, identityapi.User, error) {
	if err := s.throttle.admit(ctx, ip, email); err != nil {
		return identityapi.TokenPair{}, identityapi.User{}, err
	}
	u, err := s.store.userByEmail(ctx, NormalizeEmail(email))
	if err != nil && !errors.Is(err, identityapi.ErrUserNotFound) {
		return identityapi.TokenPair{}, identityapi.User{}, err
	}
	hash := u.PasswordHash
	if err != nil {
		hash = s.hasher.dummy
	}
	ok, cerr := s.hasher.compare(ctx, password, hash)
	if cerr != nil {
		return identityapi.TokenPair{}, identityapi.User{}, cerr
	}
	if !ok || err != nil {
		if ferr := s.throttle.failed(ctx, email); ferr != nil {
			return identityapi.TokenPair{}, identityapi.User{}, ferr
		}
		return identityapi.TokenPair{}, identityapi.User{}, ErrInvalidCredentials
	}
	if err := s.throttle.succeeded(ctx, email); err != nil {
		return identityapi.TokenPair{}, identityapi.User{}, err
	}
	pair, err := s.IssueTokens(ctx, u.ID)
	return pair, u.user(), err
}

// Refresh spends a refresh token and returns a new pair of the same family. A token that
// was already spent revokes its whole family: someone holds a copy of it.
func (s *Service) Refresh(ctx context.Context, token string) (identityapi.TokenPair, error) {
	var pair identityapi.TokenPair
	var reused bool
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		row, err := s.store.refreshForUpdate(ctx, auth.HashOpaque(token))
		if database.IsNoRows(err) {
			return ErrInvalidRefresh
		}
		if err != nil {
			return err
		}
		if row.UsedAt != nil {
			reused = true
			return s.store.revokeFamily(ctx, row.FamilyID)
		}
		if row.RevokedAt != nil || !s.now().Before(row.ExpiresAt) {
			return ErrInvalidRefresh
		}
		if err := s.store.markUsed(ctx, row.ID); err != nil {
			return err
		}
		pair, err = s.issue(ctx, row.UserID, row.FamilyID)
		return err
	})
	if err != nil {
		return pair, err
	}
	if reused {
		return pair, ErrRefreshReused
	}
	return pair, nil
}

// Logout revokes the family of the given refresh token. Logging out twice is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		row, err := s.store.refreshForUpdate(ctx, auth.HashOpaque(token))
		if database.IsNoRows(err) {
			return ErrInvalidRefresh
		}
		if err != nil {
			return err
		}
		return s.store.revokeFamily(ctx, row.FamilyID)
	})
}

// UserExists implements auth.Accounts: a token of a user who no longer exists is invalid.
func (s *Service) UserExists(ctx context.Context, userID int64) (bool, error) {
	_, err := s.store.userByID(ctx, userID)
	if errors.Is(err, identityapi.ErrUserNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Me returns the calling user.
func (s *Service) Me(ctx context.Context) (identityapi.User, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return identityapi.User{}, err
	}
	u, err := s.store.userByID(ctx, p.UserID)
	if err != nil {
		return identityapi.User{}, err
	}
	return u.user(), nil
}

// UpdateMe changes the caller's name (nil keeps it). A name equal to the current one writes
// nothing.
func (s *Service) UpdateMe(ctx context.Context, name *string) (identityapi.User, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return identityapi.User{}, err
	}
	if name == nil {
		return s.Me(ctx)
	}
	u, err := s.store.setName(ctx, p.UserID, strings.TrimSpace(*name))
	if err != nil {
		return identityapi.User{}, err
	}
	return u.user(), nil
}

// ChangePassword replaces the caller's password and revokes every refresh token of theirs,
// so every other session must sign in again.
func (s *Service) ChangePassword(ctx context.Context, current, next string) error {
	p, err := auth.Caller(ctx)
	if err != nil {
		return err
	}
	u, err := s.store.userByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	ok, err := s.hasher.compare(ctx, current, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return errWrongPassword
	}
	hash, err := s.hasher.hash(ctx, next)
	if err != nil {
		return err
	}
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.setPassword(ctx, u.ID, hash); err != nil {
			return err
		}
		return s.store.revokeUser(ctx, u.ID)
	})
}

// hasher runs argon2id with bounded concurrency: each hash takes Params.Memory KiB, so
// unbounded parallel sign-ins would exhaust memory.
type hasher struct {
	params   *argon2id.Params
	slots    chan struct{}
	dummy    string
	compares atomic.Int64 // how many verifications ran; lets tests prove both login failures hash
}

func newHasher(p *argon2id.Params, parallel int) *hasher {
	h := &hasher{params: p, slots: make(chan struct{}, parallel)}
	h.dummy, _ = argon2id.CreateHash("dummy password for unknown users", p)
	return h
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return database.ErrUnavailable.WithDetail("the service is busy, try again shortly").Wrap(ctx.Err())
	}
}

func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.slots }()
	return argon2id.CreateHash(password, h.params)
}

func (h *hasher) compare(ctx context.Context, password, hash string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.slots }()
	h.compares.Add(1)
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("compare password: %w", err)
	}
	return ok, nil
}
