package web

import (
	"context"
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	jwtware "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/cache"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/ratelimit"
)

// HeaderOrganization names the tenant of a request.
const HeaderOrganization = "X-Organization-Id"

// Guard is the HTTP side of access: it verifies access tokens and API keys, resolves the
// organization a request names and the caller's role in it, and establishes both for
// everything below, once: the principal (auth.WithPrincipal) for the services' checks and the
// database scope (database.WithTenant, database.WithUser) for row-level security.
//
// A bearer credential starting with auth.APIKeyPrefix is an API key. It is looked up on every
// request (nothing is cached, so a revoked key stops at once on every replica), counted
// against its rate limit, and acts for its creator in its own organization only: on tenant
// routes X-Organization-Id may be left out, and naming another organization, there or in the
// path, is 403 not_a_member. Routes only people may use are closed to keys by PeopleOnly.
//
// A person's role in an organization is read from the memberships cache when the guard has
// one (CacheMemberships), so that a tenant request makes no round trip of its own for it.
type Guard struct {
	tokens      *auth.Tokens
	memberships auth.Memberships
	accounts    auth.Accounts
	keys        auth.APIKeys
	limits      KeyLimits
	roles       *cache.Cache
	verified    verifiedTokens
}

// CacheMemberships makes the guard keep the roles it looks up in c, per organization and
// user. c must be invalidated for an organization whenever one of its memberships changes,
// on every replica (a cache attached to the cache bus, invalidated in the writing
// transaction): a removed member or a changed role then takes effect at the write's commit.
// Only memberships are cached: a caller who is no member is asked about again every time.
func (g *Guard) CacheMemberships(c *cache.Cache) *Guard {
	g.roles = c
	return g
}

// roleOf is the caller's role in the organization, from the cache when it holds it.
func (g *Guard) roleOf(ctx context.Context, orgID, userID int64) (auth.Role, error) {
	if g.roles == nil {
		return g.memberships.RoleOf(ctx, orgID, userID)
	}
	key := strconv.FormatInt(userID, 10)
	if v, ok := g.roles.Get(orgID, key); ok {
		return v.(auth.Role), nil
	}
	ver := g.roles.Version(orgID)
	role, err := g.memberships.RoleOf(ctx, orgID, userID)
	if err != nil {
		return role, err
	}
	g.roles.SetAt(orgID, ver, key, role)
	return role, nil
}

// KeyLimits is the rate limit of each API key: Limit requests per fixed window of a minute,
// counted in Store (shared through Redis by replicas when configured).
type KeyLimits struct {
	Store ratelimit.Store
	Limit int
}

// keyRule is the counter of an API key's requests.
func (l KeyLimits) rule() ratelimit.Rule {
	return ratelimit.Rule{Name: "api-key", Limit: l.Limit, Window: time.Minute}
}

// Headers of the rate limit, sent with every answer to an API key.
const (
	HeaderRateLimitLimit     = "RateLimit-Limit"
	HeaderRateLimitRemaining = "RateLimit-Remaining"
	HeaderRateLimitReset     = "RateLimit-Reset"
)

// ErrRateLimited is the 429 of an API key over its limit; Retry-After says when its window ends.
var ErrRateLimited = apperr.New(apperr.KindTooManyRequests, "rate_limited",
	"this API key has made too many requests in this minute; retry after Retry-After seconds")

// NewGuard returns a guard verifying tokens issued by t, asking m for roles and a whether a
// token's user still exists.
func NewGuard(t *auth.Tokens, m auth.Memberships, a auth.Accounts) *Guard {
	return &Guard{tokens: t, memberships: m, accounts: a, verified: newVerifiedTokens()}
}

// AcceptAPIKeys makes the guard authenticate API keys through k, each limited by l. Without
// it, a key is an invalid credential.
func (g *Guard) AcceptAPIKeys(k auth.APIKeys, l KeyLimits) *Guard {
	g.keys, g.limits = k, l
	return g
}

// APIKeyToken returns the API key a request presents in its Authorization header, if any.
func APIKeyToken(c *fiber.Ctx) (string, bool) {
	scheme, token, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(token, auth.APIKeyPrefix) {
		return "", false
	}
	return token, true
}

// keyOrgLocal holds, for a request authenticated by an API key, the key's organization.
const keyOrgLocal = "web.apiKeyOrg"

// authenticateKey establishes the principal of an API key: its creator, the key and its role
// (the organization is entered by the route's group). It counts the request against the key's
// limit and sets the rate limit headers, which every answer to the key then carries.
func (g *Guard) authenticateKey(c *fiber.Ctx, token string) error {
	if g.keys == nil {
		return auth.ErrInvalidAPIKey
	}
	ctx := c.UserContext()
	k, err := g.keys.Authenticate(ctx, token)
	if err != nil {
		return err
	}
	if g.limits.Store != nil && g.limits.Limit > 0 {
		n, reset, err := g.limits.Store.Hit(ctx, g.limits.rule(), strconv.FormatInt(k.ID, 10))
		if err != nil {
			return apperr.Unavailable("limiter_unavailable", "the rate limiter of API keys is unavailable, try again shortly").Wrap(err)
		}
		secs := max(int64(math.Ceil(reset.Seconds())), 1)
		c.Set(HeaderRateLimitLimit, strconv.Itoa(g.limits.Limit))
		c.Set(HeaderRateLimitRemaining, strconv.FormatInt(max(int64(g.limits.Limit)-n, 0), 10))
		c.Set(HeaderRateLimitReset, strconv.FormatInt(secs, 10))
		if n > int64(g.limits.Limit) {
			return ErrRateLimited.After(time.Duration(secs) * time.Second)
		}
	}
	c.Locals(keyOrgLocal, k.OrgID)
	ctx = auth.WithPrincipal(ctx, auth.Principal{UserID: k.CreatorID, KeyID: k.ID, Role: k.Role})
	c.SetUserContext(database.WithAPIKey(database.WithUser(ctx, k.CreatorID), k.ID))
	return nil
}

// verify returns middleware that checks the access token or API key, establishes its user and
// continues with then.
func (g *Guard) verify(then fiber.Handler) fiber.Handler {
	jwt := g.verifyToken(then)
	return func(c *fiber.Ctx) error {
		if token, ok := APIKeyToken(c); ok {
			if err := g.authenticateKey(c, token); err != nil {
				return err
			}
			return then(c)
		}
		return jwt(c)
	}
}

// verifyToken returns middleware that checks the access token, establishes its user and
// continues with then.
func (g *Guard) verifyToken(then fiber.Handler) fiber.Handler {
	verify := jwtware.New(jwtware.Config{
		SigningKey:  jwtware.SigningKey{JWTAlg: jwtware.HS256, Key: g.tokens.Secret()},
		Claims:      &auth.Claims{},
		ContextKey:  "jwt",
		TokenLookup: "header:" + fiber.HeaderAuthorization,
		AuthScheme:  "Bearer",
		SuccessHandler: func(c *fiber.Ctx) error {
			if err := g.checkClaims(c); err != nil {
				return err
			}
			return then(c)
		},
		ErrorHandler: func(_ *fiber.Ctx, err error) error {
			if err != nil && strings.Contains(err.Error(), "missing or malformed JWT") {
				return auth.ErrMissingToken
			}
			return auth.ErrInvalidToken.Wrap(err)
		},
	})
	return func(c *fiber.Ctx) error {
		if uid, ok := g.verified.lookup(c.Get(fiber.HeaderAuthorization)); ok {
			g.signIn(c, uid)
			return then(c)
		}
		return verify(c)
	}
}

// signIn establishes the token's user for everything below.
func (g *Guard) signIn(c *fiber.Ctx, uid int64) {
	ctx := auth.WithPrincipal(c.UserContext(), auth.Principal{UserID: uid})
	c.SetUserContext(database.WithUser(ctx, uid))
}

// SignedIn requires a valid access token of an existing user. Its routes are a person's own
// (their account, their organizations): an API key is refused.
func (g *Guard) SignedIn() fiber.Handler {
	verify := g.verifyToken(func(c *fiber.Ctx) error {
		if err := g.checkAccount(c.UserContext()); err != nil {
			return err
		}
		return c.Next()
	})
	return func(c *fiber.Ctx) error {
		if _, ok := APIKeyToken(c); ok {
			return auth.ErrAPIKeyNotAllowed
		}
		return verify(c)
	}
}

// checkClaims runs after the signature, algorithm and expiry (when present) were checked:
// it insists on the claims the library does not, and on a canonical encoding.
func (g *Guard) checkClaims(c *fiber.Ctx) error {
	tok, _ := c.Locals("jwt").(*jwt.Token)
	if tok == nil || !canonicalSegments(tok.Raw) {
		return auth.ErrInvalidToken
	}
	claims, ok := tok.Claims.(*auth.Claims)
	if !ok || claims.Type != auth.TokenTypeAccess || claims.ExpiresAt == nil || claims.Issuer != g.tokens.Issuer() {
		return auth.ErrInvalidToken
	}
	uid, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || uid < 1 {
		return auth.ErrInvalidToken
	}
	g.verified.keep(c.Get(fiber.HeaderAuthorization), uid, claims.ExpiresAt.Time)
	g.signIn(c, uid)
	return nil
}

// canonicalSegments reports whether every part of a compact JWT is strict unpadded base64url:
// lenient decoding ignores the unused low bits of the last character, so without this check a
// token whose signature was altered in its last character would still be accepted.
func canonicalSegments(raw string) bool {
	for part := range strings.SplitSeq(raw, ".") {
		if _, err := base64.RawURLEncoding.Strict().DecodeString(part); err != nil {
			return false
		}
	}
	return true
}

// checkAccount turns away a token whose user no longer exists.
func (g *Guard) checkAccount(ctx context.Context) error {
	p, err := auth.Caller(ctx)
	if err != nil {
		return err
	}
	if g.accounts == nil {
		return errors.New("web: the guard has no accounts")
	}
	ok, err := g.accounts.UserExists(ctx, p.UserID)
	if err != nil {
		return err
	}
	if !ok {
		return auth.ErrInvalidToken
	}
	return nil
}

// Tenant authenticates the request and resolves the organization named by the
// X-Organization-Id header and the caller's role in it. An API key may leave the header out:
// its organization is its own.
func (g *Guard) Tenant() fiber.Handler {
	return g.verify(func(c *fiber.Ctx) error {
		raw := c.Get(HeaderOrganization)
		if keyOrg, ok := c.Locals(keyOrgLocal).(int64); ok && raw == "" {
			return g.enter(c, keyOrg)
		}
		if raw == "" {
			return apperr.InvalidField("missing_organization", HeaderOrganization, "is required",
				"the X-Organization-Id header is required on this route")
		}
		orgID, err := auth.ParseOrgID(raw)
		if err != nil {
			return apperr.InvalidField("invalid_organization_id", HeaderOrganization, "must be a positive integer",
				"the X-Organization-Id header must be a positive integer organization id")
		}
		return g.enter(c, orgID)
	})
}

// TenantFromPath authenticates the request and resolves the organization named by the path
// parameter param.
func (g *Guard) TenantFromPath(param string) fiber.Handler {
	return g.verify(func(c *fiber.Ctx) error {
		orgID, err := auth.ParseOrgID(c.Params(param))
		if err != nil {
			// No organization can have such an id, and the caller is a member of none.
			return g.notMember(c.UserContext())
		}
		return g.enter(c, orgID)
	})
}

// notMember is the answer for a caller outside the organization: 403, unless the token's user
// no longer exists at all, which makes the token itself invalid. Only this path asks, so a
// member's request costs no lookup of its own.
func (g *Guard) notMember(ctx context.Context) error {
	if p, _ := auth.PrincipalFrom(ctx); p.KeyID != 0 {
		return auth.ErrNotMember // the key was just found, with its creator a member
	}
	if err := g.checkAccount(ctx); err != nil {
		return err
	}
	return auth.ErrNotMember
}

func (g *Guard) enter(c *fiber.Ctx, orgID int64) error {
	ctx := c.UserContext()
	p, err := auth.Caller(ctx)
	if err != nil {
		return err
	}
	if p.KeyID != 0 {
		// The key's role was resolved with the key, against its creator's current membership.
		if keyOrg, _ := c.Locals(keyOrgLocal).(int64); keyOrg != orgID {
			return auth.ErrNotMember
		}
		p.OrgID = orgID
		c.SetUserContext(database.WithTenant(auth.WithPrincipal(ctx, p), orgID))
		return c.Next()
	}
	if g.memberships == nil {
		return errors.New("web: the guard has no memberships")
	}
	role, err := g.roleOf(ctx, orgID, p.UserID)
	if errors.Is(err, auth.ErrNotMember) {
		return g.notMember(ctx)
	}
	if err != nil {
		return err
	}
	p.OrgID, p.Role = orgID, role
	c.SetUserContext(database.WithTenant(auth.WithPrincipal(ctx, p), orgID))
	return c.Next()
}
