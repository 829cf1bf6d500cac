// Package identity owns users, their passwords (argon2id) and their sessions: access tokens
// and single-use refresh tokens grouped in families. Registration of a user together with
// their first organization is a use case of the orgs module, which calls this module's facade.
package identity

import (
	"embed"
	"io/fs"
	"runtime"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/mini-crm/crm/modules/identity/identityapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/web"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// Options tune the module.
type Options struct {
	// HashParams are the argon2id parameters; nil means HashParams (the package variable).
	HashParams *argon2id.Params
	// Throttle limits sign-in attempts; the zero value means DefaultThrottle().
	Throttle Throttle
}

// HashParams are the argon2id parameters of new password hashes: OWASP's recommended
// minimum (19 MiB, 2 passes, 1 lane). The library's default of 64 MiB per hash held the
// server at ~290 MB under concurrent sign-ins on a 2-core machine; 19 MiB keeps sign-in
// memory bounded (at most one hash per core runs at once) at the same protection OWASP
// accepts. Existing hashes keep verifying: their parameters are stored in them.
var HashParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Module is the identity slice.
type Module struct {
	svc *Service
}

// New builds the module.
func New(db *database.DB, tokens *auth.Tokens, o Options) *Module {
	p := o.HashParams
	if p == nil {
		p = HashParams
	}
	th := o.Throttle
	if th.Store == nil {
		th = DefaultThrottle()
	}
	svc := &Service{db: db, store: store{db: db}, tokens: tokens, hasher: newHasher(p, runtime.GOMAXPROCS(0)), throttle: th, now: time.Now}
	return &Module{svc: svc}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "identity" }
func (m *Module) Init(*kernel.Kernel) error {
	return nil
}

func (m *Module) Provide(k *kernel.Kernel) error {
	if err := kernel.Provide[identityapi.Identity](k, m.svc); err != nil {
		return err
	}
	return kernel.Provide[auth.Accounts](k, m.svc)
}

func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	r.Public.PostUnkeyed("/auth/login", h.login)
	r.Public.PostUnkeyed("/auth/refresh", h.refresh)
	r.Public.PostUnkeyed("/auth/logout", h.logout)
	r.SignedIn.Get("/users/me", h.me)
	r.SignedIn.Patch("/users/me", h.updateMe)
	r.SignedIn.PostUnkeyed("/users/me/password", h.changePassword)
}
