// Package tasks owns the tasks of an organization: to-dos attached to its deals, assigned to
// a member, with an optional due date that may never be set in the past (today is taken in
// the organization's time zone). It reads deals (existence and owner) through the deals
// facade and the time zone through the orgs facade, and records each new task on the deal's
// timeline through the timeline facade, inside its own transactions; it records the task.*
// events of the change feed, those of the tasks a deal's delete takes to the trash with it
// and its restore brings back (dealsapi.DealDeleting, DealRestoring) and of those a leaving
// member hands on (orgsapi.MemberRemoved) included; it restores and purges tasks for the
// trash module.
package tasks

import (
	"embed"
	"io/fs"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
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

// Module is the tasks slice.
type Module struct {
	svc *Service
}

// New builds the module. outbox records the task.* events of its writes; now is the clock
// that decides which day is today (in the organization's time zone), the composition root
// passes time.Now.
func New(db *database.DB, outbox Outbox, now func() time.Time) *Module {
	return &Module{svc: &Service{db: db, store: store{db: db}, outbox: outbox, now: now}}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "tasks" }

// Provide registers nothing: no module reads tasks.
func (m *Module) Provide(*kernel.Kernel) error { return nil }

func (m *Module) Init(k *kernel.Kernel) error {
	deals, err := kernel.Resolve[dealsapi.Deals](k)
	if err != nil {
		return err
	}
	tl, err := kernel.Resolve[timelineapi.Timeline](k)
	if err != nil {
		return err
	}
	orgs, err := kernel.Resolve[orgsapi.Orgs](k)
	if err != nil {
		return err
	}
	m.svc.deals, m.svc.timeline, m.svc.orgs = deals, tl, orgs
	// A deal's delete takes its live tasks to the trash with it, each with its task.deleted
	// event, and its restore brings exactly those back.
	kernel.Handle(k, m.svc.dealDeleting)
	kernel.Handle(k, m.svc.dealRestoring)
	tr, err := kernel.Resolve[trashapi.Trash](k)
	if err != nil {
		return err
	}
	m.svc.trash = tr
	tr.Register(trashapi.Task, restorer{svc: m.svc})
	// A member who leaves hands their tasks to the owners of the tasks' deals.
	kernel.Handle(k, m.svc.memberRemoved)
	return nil
}

func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	r.Tenant.List(ListParams...).Get("/tasks", h.list)
	r.Tenant.Post("/tasks", h.create)
	r.Tenant.Get("/tasks/:id", h.get)
	r.Tenant.Patch("/tasks/:id", h.update)
	r.Tenant.Delete("/tasks/:id", h.delete)
}
