// Package pipelines owns the pipelines of an organization and their ordered stages, which are
// organization settings: every role reads them, owners and admins change them. Every
// organization has a default pipeline, created with the organization (on
// orgsapi.OrganizationCreated, in its transaction) or, for organizations older than this
// module, by its migration.
//
// Deals are the deals module's: how many a pipeline or stage holds, and moving them off a
// stage being deleted, are asked through pipelinesapi.DealCounter and StageMover, resolved
// when a module provides them. Until one does, the module works as if no deal were in any
// pipeline.
package pipelines

import (
	"context"
	"embed"
	"io/fs"

	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/platform/cache"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/web"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// Module is the pipelines slice.
type Module struct {
	svc *Service
}

// New builds the module. outbox records the pipeline.* events of its writes. c, when not nil,
// keeps the pipelines the other modules ask for (every deal write and deal list does): it must
// reach every replica (attached to the cache bus), and each pipeline write invalidates the
// organization's entries in its transaction.
func New(db *database.DB, outbox Outbox, c *cache.Cache) *Module {
	return &Module{svc: &Service{db: db, store: store{db: db}, outbox: outbox, cache: c}}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "pipelines" }

func (m *Module) Provide(k *kernel.Kernel) error {
	return kernel.Provide[pipelinesapi.Pipelines](k, m.svc)
}

// Init subscribes to the creation of organizations and takes the deal counter and mover when
// a module provides them (every Provide has run by now); their absence is no error.
func (m *Module) Init(k *kernel.Kernel) error {
	if c, err := kernel.Resolve[pipelinesapi.DealCounter](k); err == nil {
		m.svc.deals = c
	}
	if mv, err := kernel.Resolve[pipelinesapi.StageMover](k); err == nil {
		m.svc.mover = mv
	}
	m.svc.emit = func(ctx context.Context, e pipelinesapi.PipelineWritten) error { return kernel.Emit(ctx, k, e) }
	kernel.Handle(k, m.svc.organizationCreated)
	return nil
}

func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	r.Tenant.List().Get("/pipelines", h.list)
	r.Tenant.Post("/pipelines", h.create)
	r.Tenant.Get("/pipelines/:id", h.get)
	r.Tenant.Patch("/pipelines/:id", h.update)
	r.Tenant.Delete("/pipelines/:id", h.delete)
	r.Tenant.Post("/pipelines/:id/stages", h.addStage)
	r.Tenant.Patch("/pipelines/:id/stages/:stage_id", h.updateStage)
	r.Tenant.Query("move_to").Delete("/pipelines/:id/stages/:stage_id", h.deleteStage)
}
