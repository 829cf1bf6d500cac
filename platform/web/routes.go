package web

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/auth"
)

// Routes are the route groups a module mounts its handlers on. Each group runs its access
// middleware before the module's handlers, and every group makes every POST honour
// Idempotency-Key, so a module adds neither itself and a new route cannot forget them; the
// few POSTs that must not (sign-in, refresh, sign-out, the password change) say so with
// PostUnkeyed.
//
// API keys are accepted on the Tenant and OrgPath groups only, for the key's own organization.
// A route there that only a person may use, because it grants or manages access (members
// writes, invitations, API keys, webhooks, deleting the organization), is mounted on
// Tenant.People() or OrgPath.People(), which refuse any key with 403 api_key_not_allowed
// before anything else: the webhooks routes (/webhooks…) must be mounted there too. Public
// and SignedIn routes (sign-in, users/me, organizations/me, creating organizations) refuse
// keys as a whole.
type Routes struct {
	// Public routes need no token; an API key presented to one is refused.
	Public Group
	// SignedIn routes need the access token of an existing user; an API key is refused.
	SignedIn Group
	// Tenant routes also name an organization in X-Organization-Id, of which the caller must
	// be a member. An API key may leave the header out.
	Tenant Group
	// OrgPath routes name the organization in the path parameter :org_id instead.
	OrgPath Group
}

// PeopleOnly refuses a request that presents an API key with 403 api_key_not_allowed, whatever
// the key's role and whether or not it is valid: the form of the credential decides, before
// it is looked up. Groups put it in front of their access checks (see Group.People).
func PeopleOnly(c *fiber.Ctx) error {
	if _, ok := APIKeyToken(c); ok {
		return auth.ErrAPIKeyNotAllowed
	}
	return c.Next()
}

// Router is what a module that serves HTTP implements.
type Router interface {
	Routes(r Routes)
}

// NewRoutes builds the groups on api. idempotent runs after access is established, on POST.
func NewRoutes(api fiber.Router, g *Guard, idempotent fiber.Handler) Routes {
	return Routes{
		Public:   Group{router: api, before: []fiber.Handler{PeopleOnly}, onPost: idempotent},
		SignedIn: Group{router: api, before: []fiber.Handler{PeopleOnly, g.SignedIn()}, onPost: idempotent},
		Tenant:   Group{router: api, before: []fiber.Handler{g.Tenant()}, onPost: idempotent},
		OrgPath:  Group{router: api, before: []fiber.Handler{g.TenantFromPath("org_id")}, onPost: idempotent},
	}
}

// Group mounts routes with the group's middleware in front of their handlers. Unlike a fiber
// group, which applies its middleware to every route under its prefix, it touches only the
// routes mounted through it.
type Group struct {
	router fiber.Router
	before []fiber.Handler
	onPost fiber.Handler
	params []string // the query parameters its routes take; any other is a 400
}

// Query returns the group with its routes taking the query parameters names (and those the
// group took already). A route takes no query parameter unless its group says so: any other
// name is refused with 400 unknown_parameter, after the access checks and before the handler.
func (g Group) Query(names ...string) Group {
	g.params = append(slices.Clone(g.params), names...)
	return g
}

// List is Query for a paginated list: PageParams and names.
func (g Group) List(names ...string) Group {
	return g.Query(append(slices.Clone(PageParams), names...)...)
}

// People returns the group with its routes closed to API keys (see PeopleOnly): for routes
// that grant or manage access, which only a person may use.
func (g Group) People() Group {
	g.before = append([]fiber.Handler{PeopleOnly}, g.before...)
	return g
}

func (g Group) add(method, path string, post bool, handlers []fiber.Handler) {
	chain := append([]fiber.Handler{}, g.before...)
	chain = append(chain, strictQuery(g.params))
	if post && g.onPost != nil {
		chain = append(chain, g.onPost)
	}
	chain = append(chain, handlers...)
	if method == fiber.MethodGet {
		g.router.Get(path, chain...) // HEAD too, as fiber does for GET
		return
	}
	g.router.Add(method, path, chain...)
}

// Get mounts a GET route.
func (g Group) Get(path string, h ...fiber.Handler) { g.add(fiber.MethodGet, path, false, h) }

// Post mounts a POST route.
func (g Group) Post(path string, h ...fiber.Handler) { g.add(fiber.MethodPost, path, true, h) }

// PostUnkeyed mounts a POST route that does not honour Idempotency-Key: one that creates
// nothing and whose body holds a secret that must not be fingerprinted and kept for a day
// (sign-in, refresh, sign-out, a password change).
func (g Group) PostUnkeyed(path string, h ...fiber.Handler) {
	g.add(fiber.MethodPost, path, false, h)
}

// Patch mounts a PATCH route.
func (g Group) Patch(path string, h ...fiber.Handler) { g.add(fiber.MethodPatch, path, false, h) }

// Put mounts a PUT route.
func (g Group) Put(path string, h ...fiber.Handler) { g.add(fiber.MethodPut, path, false, h) }

// Delete mounts a DELETE route.
func (g Group) Delete(path string, h ...fiber.Handler) { g.add(fiber.MethodDelete, path, false, h) }
