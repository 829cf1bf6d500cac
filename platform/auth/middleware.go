package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	jwtware "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/mini-crm/crm/platform/apperr"
)

// Memberships answers which role a user has in an organization. The orgs module provides it.
type Memberships interface {
	// RoleOf returns ErrNotMember when userID is not a member of orgID (or orgID does not exist).
	RoleOf(ctx context.Context, orgID, userID int64) (Role, error)
}

// ErrNotMember is the 403 for a user outside the organization named by the request. It is
// the same whether or not the organization exists.
var ErrNotMember = apperr.Forbidden("not_a_member", "you are not a member of this organization")

// Accounts tells whether the user a token names still exists. The identity module provides it.
type Accounts interface {
	UserExists(ctx context.Context, userID int64) (bool, error)
}

// Errors of the authentication middleware.
var (
	ErrMissingToken = apperr.Unauthenticated("missing_token", "an Authorization: Bearer <access token> header is required")
	ErrInvalidToken = apperr.Unauthenticated("invalid_token", "the access token is invalid or expired")
)

// HeaderOrganization names the tenant of a request.
const HeaderOrganization = "X-Organization-Id"

// Guard builds the authentication and tenant middleware.
type Guard struct {
	tokens      *Tokens
	memberships Memberships
	accounts    Accounts
	signedIn    fiber.Handler
	onCreate    fiber.Handler
}

// NewGuard returns a guard verifying tokens issued by t. Memberships and accounts must be
// set with SetMemberships and SetAccounts before a route is served.
func NewGuard(t *Tokens) *Guard {
	g := &Guard{tokens: t}
	g.signedIn = g.verify(g.requireAccount)
	return g
}

// verify returns middleware that checks the access token, puts its principal into the user
// context and continues with then.
func (g *Guard) verify(then fiber.Handler) fiber.Handler {
	return jwtware.New(jwtware.Config{
		SigningKey:  jwtware.SigningKey{JWTAlg: jwtware.HS256, Key: g.tokens.Secret()},
		Claims:      &Claims{},
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
				return ErrMissingToken
			}
			return ErrInvalidToken.Wrap(err)
		},
	})
}

// SetMemberships wires the role lookup used by the tenant middleware.
func (g *Guard) SetMemberships(m Memberships) { g.memberships = m }

// SetAccounts wires the lookup that turns away tokens of users who no longer exist.
func (g *Guard) SetAccounts(a Accounts) { g.accounts = a }

// OnCreate sets a middleware that runs after the tenant is resolved on every POST of a tenant
// route: every such POST creates something (a record, a member, a comment), so this is where
// idempotency keys apply to all of them, including routes added later.
func (g *Guard) OnCreate(h fiber.Handler) { g.onCreate = h }

// Authenticated requires a valid access token of an existing user and puts its principal
// into the user context. Tenant routes use Tenant or TenantFromPath instead, which
// authenticate too.
func (g *Guard) Authenticated() fiber.Handler { return g.signedIn }

// checkClaims runs after the signature, algorithm and expiry (when present) were checked:
// it insists on the claims the library does not, and on a canonical encoding.
func (g *Guard) checkClaims(c *fiber.Ctx) error {
	tok, _ := c.Locals("jwt").(*jwt.Token)
	if tok == nil || !canonicalSegments(tok.Raw) {
		return ErrInvalidToken
	}
	claims, ok := tok.Claims.(*Claims)
	if !ok || claims.Type != TokenTypeAccess || claims.ExpiresAt == nil || claims.Issuer != g.tokens.Issuer() {
		return ErrInvalidToken
	}
	uid, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || uid < 1 {
		return ErrInvalidToken
	}
	c.SetUserContext(WithPrincipal(c.UserContext(), Principal{UserID: uid}))
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

// requireAccount turns away a token whose user no longer exists.
func (g *Guard) requireAccount(c *fiber.Ctx) error {
	if err := g.checkAccount(c.UserContext()); err != nil {
		return err
	}
	return c.Next()
}

func (g *Guard) checkAccount(ctx context.Context) error {
	p, err := Caller(ctx)
	if err != nil {
		return err
	}
	if g.accounts == nil {
		return errors.New("auth: accounts are not wired")
	}
	ok, err := g.accounts.UserExists(ctx, p.UserID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrInvalidToken
	}
	return nil
}

// Tenant authenticates the request and resolves the organization named by the
// X-Organization-Id header and the caller's role in it.
func (g *Guard) Tenant() fiber.Handler {
	return g.verify(func(c *fiber.Ctx) error {
		raw := c.Get(HeaderOrganization)
		if raw == "" {
			return apperr.InvalidField("missing_organization", HeaderOrganization, "is required",
				"the X-Organization-Id header is required on this route")
		}
		orgID, err := ParseOrgID(raw)
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
		orgID, err := ParseOrgID(c.Params(param))
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
	if err := g.checkAccount(ctx); err != nil {
		return err
	}
	return ErrNotMember
}

func (g *Guard) enter(c *fiber.Ctx, orgID int64) error {
	p, err := Caller(c.UserContext())
	if err != nil {
		return err
	}
	if g.memberships == nil {
		return errors.New("auth: memberships are not wired")
	}
	role, err := g.memberships.RoleOf(c.UserContext(), orgID, p.UserID)
	if errors.Is(err, ErrNotMember) {
		return g.notMember(c.UserContext())
	}
	if err != nil {
		return err
	}
	p.OrgID, p.Role = orgID, role
	c.SetUserContext(WithPrincipal(c.UserContext(), p))
	if g.onCreate != nil && c.Method() == fiber.MethodPost {
		return g.onCreate(c)
	}
	return c.Next()
}

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
