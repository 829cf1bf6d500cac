// Package deals owns the deals of an organization: their pipeline (status and stage), the
// rules about moving through it, and the HTTP routes of deal timelines. It records what
// happens to a deal through the timeline facade inside its own transactions, tells the
// contacts module how many deals reference a contact, emits dealsapi.DealWritten inside the
// transaction of every write that changes what analytics derives from a deal, emits
// dealsapi.DealDeleting and DealRestoring when a deal goes to the trash and comes back
// (its tasks go and come with it), restores and purges deals for the trash module, records
// the deal.* events of the change feed, and announces every committed write with a
// dealsapi.DealsChanged event.
package deals

import (
	"context"
	"embed"
	"io/fs"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/modules/trash/trashapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/kernel"
	"github.com/mini-crm/crm/platform/web"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the module's migrations without building the module.
func Migrations() fs.FS { return migrations }

// Module is the deals slice.
type Module struct {
	svc *Service
}

// New builds the module. outbox records the deal.* events of its writes.
func New(db *database.DB, outbox Outbox) *Module {
	return &Module{svc: &Service{db: db, store: store{db: db}, outbox: outbox}}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "deals" }

func (m *Module) Provide(k *kernel.Kernel) error {
	if err := kernel.Provide[dealsapi.Deals](k, m.svc); err != nil {
		return err
	}
	if err := kernel.Provide[contactsapi.DealLinks](k, m.svc); err != nil {
		return err
	}
	if err := kernel.Provide[pipelinesapi.DealCounter](k, m.svc); err != nil {
		return err
	}
	if err := kernel.Provide[contactsapi.DealMover](k, m.svc); err != nil {
		return err
	}
	return kernel.Provide[pipelinesapi.StageMover](k, m.svc)
}

func (m *Module) Init(k *kernel.Kernel) error {
	contacts, err := kernel.Resolve[contactsapi.Contacts](k)
	if err != nil {
		return err
	}
	orgs, err := kernel.Resolve[orgsapi.Orgs](k)
	if err != nil {
		return err
	}
	tl, err := kernel.Resolve[timelineapi.Timeline](k)
	if err != nil {
		return err
	}
	pl, err := kernel.Resolve[pipelinesapi.Pipelines](k)
	if err != nil {
		return err
	}
	m.svc.contacts, m.svc.orgs, m.svc.timeline, m.svc.pipelines = contacts, orgs, tl, pl
	m.svc.publish = func(e dealsapi.DealsChanged) { kernel.Publish(k, e) }
	m.svc.emit = func(ctx context.Context, e dealsapi.DealWritten) error { return kernel.Emit(ctx, k, e) }
	m.svc.emitDeleting = func(ctx context.Context, e dealsapi.DealDeleting) error { return kernel.Emit(ctx, k, e) }
	m.svc.emitRestoring = func(ctx context.Context, e dealsapi.DealRestoring) error { return kernel.Emit(ctx, k, e) }
	tr, err := kernel.Resolve[trashapi.Trash](k)
	if err != nil {
		return err
	}
	m.svc.trash = tr
	tr.Register(trashapi.Deal, restorer{svc: m.svc})
	m.svc.emitMoved = func(ctx context.Context, e dealsapi.DealsMoved) error { return kernel.Emit(ctx, k, e) }
	return nil
}

func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc, activity: m.svc.timeline.Render}
	r.Tenant.List(ListParams...).Get("/deals", h.list)
	r.Tenant.Post("/deals", h.create)
	// Before /deals/:id, which would take "export" for an id.
	r.Tenant.Query(ExportParams...).Get("/deals/export", h.export)
	r.Tenant.Get("/deals/:id", h.get)
	r.Tenant.Patch("/deals/:id", h.update)
	r.Tenant.Delete("/deals/:id", h.delete)
	r.Tenant.List().Get("/deals/:deal_id/activities", h.activities)
	r.Tenant.Post("/deals/:deal_id/activities", h.comment)
	r.Tenant.Patch("/deals/:deal_id/activities/:id", h.editComment)
	r.Tenant.Delete("/deals/:deal_id/activities/:id", h.deleteComment)
}
