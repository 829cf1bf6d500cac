package auth

import (
	"context"
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
	jwt         fiber.Handler
	onCreate    fiber.Handler
}

// NewGuard returns a guard verifying tokens issued by t. Memberships must be set with
// SetMemberships before a tenant route is served.
func NewGuard(t *Tokens) *Guard {
	g := &Guard{tokens: t}
	g.jwt = jwtware.New(jwtware.Config{
		SigningKey:     jwtware.SigningKey{JWTAlg: jwtware.HS256, Key: t.Secret()},
		Claims:         &Claims{},
		ContextKey:     "jwt",
		TokenLookup:    "header:" + fiber.HeaderAuthorization,
		AuthScheme:     "Bearer",
		SuccessHandler: g.checkClaims,
		ErrorHandler: func(_ *fiber.Ctx, err error) error {
			if err != nil && strings.Contains(err.Error(), "missing or malformed JWT") {
				return ErrMissingToken
			}
			return ErrInvalidToken.Wrap(err)
		},
	})
	return g
}

// SetMemberships wires the role lookup used by the tenant middleware.
func (g *Guard) SetMemberships(m Memberships) { g.memberships = m }

// OnCreate sets a middleware that runs after the tenant is resolved on every POST of a tenant
// route: every such POST creates something (a record, a member, a comment), so this is where
// idempotency keys apply to all of them, including routes added later.
func (g *Guard) OnCreate(h fiber.Handler) { g.onCreate = h }

// Authenticated requires a valid access token and puts its principal into the user context.
func (g *Guard) Authenticated() fiber.Handler { return g.jwt }

// checkClaims runs after the signature, algorithm and expiry (when present) were checked:
// it insists on the claims the library does not.
func (g *Guard) checkClaims(c *fiber.Ctx) error {
	tok, _ := c.Locals("jwt").(*jwt.Token)
	if tok == nil {
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
	return c.Next()
}

// Tenant resolves the organization named by the X-Organization-Id header and the caller's
// role in it. It must run after Authenticated.
func (g *Guard) Tenant() fiber.Handler {
	return func(c *fiber.Ctx) error {
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
	}
}

// TenantFromPath resolves the organization named by the path parameter param.
func (g *Guard) TenantFromPath(param string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		orgID, err := ParseOrgID(c.Params(param))
		if err != nil {
			// No organization can have such an id, and the caller is a member of none.
			return ErrNotMember
		}
		return g.enter(c, orgID)
	}
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
