// Package analytics owns the reports over an organization's deals — the summary (counts and
// sums per status and currency, won average, win rate, new deals), the funnel, the forecast
// and the velocity report — and the read model they are computed from.
//
// # Read model, kept in the deal-write transaction
//
// Analytics never queries the deals table. It owns five tables, filled by its backfill
// migrations (analytics_recount) from what the deals module's SQL functions report of the
// deals that exist (deals_stage_totals, deals_created_per_day, deals_open_by_close_month,
// deals_won_per_day, deals_visited_sets) and from then on kept in step
// by the deals module's dealsapi.DealWritten event, which deals emits with kernel.Emit inside the
// transaction of every create, every update that changes a fact analytics uses (status,
// stage, furthest stage, currency, amount, expected close date, probability override,
// closed_at, the stages visited) and every delete. The handler subtracts the
// deal's contribution before the write and adds the one after, with upserts in that same
// transaction, so the deal and the aggregates commit or roll back together:
//
//   - analytics_deal_totals: one row per (organization, status, stage, furthest stage
//     reached, currency) with the number of deals and their exact sum. An organization has
//     at most 4 statuses × 10 (stage, furthest stage) pairs × its currencies rows, so the
//     summary and the funnel read a few dozen rows whatever the number of deals.
//   - analytics_deals_created: the deals created per UTC day, at most 366 rows read.
//   - analytics_deals_open: the open deals per pipeline, expected close month ('infinity'
//     without a date), stage, currency and whether they override their stage's
//     probability, with their sum and, for the overriding ones, Σ amount × override. The
//     forecast weighs the others with their stage's probability when it is read, so a
//     probability change of a stage needs no rewrite.
//   - analytics_deals_won: the won deals per pipeline, UTC day of closed_at and currency,
//     with their sum and their summed time from creation to closing (velocity's won).
//   - analytics_deal_paths: the deals per pipeline and set of stages of it they ever
//     entered. The funnel's reached under any stage order follows from it (a deal reached
//     a stage when it entered it or a stage now after it), so a reorder needs no rewrite.
//     It counts the deals now in the pipeline, as the funnel's count does.
//
// Velocity's stage visits come from the deals module (dealsapi.Deals.StageVisits), which
// keeps its own read model of finished visits per stage, day and length bucket and picks
// the exact median from the history (modules/deals/velocity.go).
//
// # Months and days in the organization's time zone
//
// The forecast's months are calendar months in the organization's time zone. Won deals are
// kept per UTC day; a UTC day that a month boundary of the time zone cuts (none for UTC) is
// counted from the deals instead (dealsapi.Deals.WonByMonth, an index of the won deals), as
// is the part of velocity's first day after the window's start.
//
// The rows a write touches are locked in a fixed order, so concurrent writers queue rather
// than deadlock. Rows that fall to zero deals stay (and are skipped when read): their number
// is bounded, and keeping them avoids delete/insert races between writers.
//
// # "Created within the last N days"
//
// Exactly the deals with created_at ≥ now − N×24 h (a rolling window, not calendar days).
// The whole UTC days after the window's first day come from analytics_deals_created; the
// part of the first day after the window's start is counted from the deals through the
// deals facade (dealsapi.Deals.CountCreatedBetween, served by the deals index on
// (organization_id, created_at)), so at most one day's deals are counted.
//
// # Money and rounding
//
// Sums and averages are exact decimals per currency (money in different currencies is
// never added), rendered with two decimals; averages are rounded half-up. The win rate and
// the conversions are percentages rounded half-up to one decimal, null when undefined.
//
// # Cache
//
// Reports are cached per organization (platform/cache) for ANALYTICS_CACHE_TTL. Every deal
// write (dealsapi.DealWritten, handled in the write's transaction) and every pipeline write
// (pipelinesapi.PipelineWritten: a stage's probability, a reorder, a new default pipeline)
// invalidates the organization's reports on every replica through the cache bus, when the
// write commits; a report computed while such a write committed is not stored, so a client
// reads its own writes through any replica.
// Responses carry "Cache-Control: private, max-age=<ttl seconds>"; with the cache disabled
// (TTL 0) that is "private, max-age=0".
package analytics

import (
	"embed"
	"io/fs"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
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

// Module is the analytics slice.
type Module struct {
	svc *Service
}

// New builds the module; c caches the reports (a zero TTL disables it).
func New(db *database.DB, c *cache.Cache) *Module {
	return &Module{svc: &Service{db: db, store: store{db: db}, cache: c, now: time.Now}}
}

// Service exposes the use cases (for tests and the composition root).
func (m *Module) Service() *Service { return m.svc }

func (m *Module) Name() string { return "analytics" }

// Provide registers nothing: no module uses analytics.
func (m *Module) Provide(*kernel.Kernel) error { return nil }

func (m *Module) Init(k *kernel.Kernel) error {
	deals, err := kernel.Resolve[dealsapi.Deals](k)
	if err != nil {
		return err
	}
	pl, err := kernel.Resolve[pipelinesapi.Pipelines](k)
	if err != nil {
		return err
	}
	orgs, err := kernel.Resolve[orgsapi.Orgs](k)
	if err != nil {
		return err
	}
	m.svc.deals, m.svc.pipelines, m.svc.orgs = deals, pl, orgs
	kernel.Handle(k, m.svc.dealWritten)
	kernel.Handle(k, m.svc.pipelineWritten)
	kernel.Handle(k, m.svc.dealsMoved)
	return nil
}

func (m *Module) Routes(r web.Routes) {
	h := handler{svc: m.svc}
	r.Tenant.Query("days", "pipeline_id").Get("/analytics/deals/summary", h.summary)
	r.Tenant.Query("pipeline_id").Get("/analytics/deals/funnel", h.funnel)
	r.Tenant.Query("pipeline_id", "from", "months").Get("/analytics/deals/forecast", h.forecast)
	r.Tenant.Query("pipeline_id", "days").Get("/analytics/deals/velocity", h.velocity)
}
