package web

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
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
)

// HeaderOrganization names the tenant of a request.
const HeaderOrganization = "X-Organization-Id"

// Guard is the HTTP side of access: it verifies access tokens, resolves the organization a
// request names and the caller's role in it, and establishes both for everything below, once:
// the principal (auth.WithPrincipal) for the services' checks and the database scope
// (database.WithTenant, database.WithUser) for row-level security.
type Guard struct {
	tokens      *auth.Tokens
	memberships auth.Memberships
	accounts    auth.Accounts
}

// NewGuard returns a guard verifying tokens issued by t, asking m for roles and a whether a
// token's user still exists.
func NewGuard(t *auth.Tokens, m auth.Memberships, a auth.Accounts) *Guard {
	return &Guard{tokens: t, memberships: m, accounts: a}
}

// verify returns middleware that checks the access token, establishes its user and continues
// with then.
func (g *Guard) verify(then fiber.Handler) fiber.Handler {
	return jwtware.New(jwtware.Config{
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
}

// SignedIn requires a valid access token of an existing user.
func (g *Guard) SignedIn() fiber.Handler {
	return g.verify(func(c *fiber.Ctx) error {
		if err := g.checkAccount(c.UserContext()); err != nil {
			return err
		}
		return c.Next()
	})
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
	ctx := auth.WithPrincipal(c.UserContext(), auth.Principal{UserID: uid})
	c.SetUserContext(database.WithUser(ctx, uid))
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
// X-Organization-Id header and the caller's role in it.
func (g *Guard) Tenant() fiber.Handler {
	return g.verify(func(c *fiber.Ctx) error {
		raw := c.Get(HeaderOrganization)
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
	if g.memberships == nil {
		return errors.New("web: the guard has no memberships")
	}
	role, err := g.memberships.RoleOf(ctx, orgID, p.UserID)
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
