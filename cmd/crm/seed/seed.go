// Package seed fills a migrated database with a reproducible data set for benchmarks: one
// large organization (1,000,000 deals, 200,000 contacts, 500,000 tasks, 3,000,000
// activities and 2,500,000 change feed events at scale 1) and 1,000 small ones of 1,000
// deals and 500 events, with three years of history (the events: the last three weeks,
// within the feed's retention).
//
// The data is a pure function of the seed, the scale and the anchor (the "now" of the data
// set, by default the start of the current UTC day), except the password hash, which has a
// random salt as every argon2id hash should. Every user's password is Password.
//
// Rows are written with COPY as the database owner, below the application's role and its
// row-level security, and respect every constraint of the schema: composite foreign keys,
// owners who are members, max_stage at or beyond the stage, won deals with an amount,
// upper-case ISO currencies. Deals carry the activities the API would have recorded
// (deal_created, status_changed, stage_changed, task_created, comments) in the order of
// their times. The change feed's events are generated in the database from the seeded
// deals (one INSERT … SELECT), already sequenced. Afterwards the analytics read model is
// rebuilt and the tables vacuumed and analyzed, so that plans and visibility maps are those
// of a settled database.
package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mini-crm/crm/modules/analytics"
	"github.com/mini-crm/crm/modules/identity"
)

// Password is the password of every seeded user.
const Password = "bench-password-1"

// Email returns the address of a member of the org-th organization (1-based, the large
// one is 1); member 0 is the organization's owner.
func Email(org int64, member int) string {
	if member == 0 {
		return fmt.Sprintf("owner@org%d.example.com", org)
	}
	return fmt.Sprintf("user%d@org%d.example.com", member, org)
}

// Options choose the data set.
type Options struct {
	Seed  uint64
	Scale float64 // 1 is the full data set; 0.01 runs in seconds
	// Reset truncates the data tables first; without it, a database that holds
	// organizations or users is refused.
	Reset bool
	// Anchor is the "now" of the data set; zero means the start of the current UTC day.
	Anchor time.Time
	// Progress receives a line every few seconds and one per finished step; nil for none.
	Progress io.Writer
	// HashParams are the argon2id parameters of the users' password hash; nil means the
	// service's (identity.HashParams), so that a login costs what it costs in production.
	HashParams *argon2id.Params
}

// Count is the number of rows seeded into a table.
type Count struct {
	Table string
	Rows  int64
}

// Step is a finished step and its duration.
type Step struct {
	Name     string
	Duration time.Duration
}

// Result tells what was seeded.
type Result struct {
	Counts  []Count
	Steps   []Step
	Elapsed time.Duration
	Anchor  time.Time
}

// Sizes at scale 1.
const (
	largeDeals      = 1_000_000
	largeContacts   = 200_000
	largeTasks      = 500_000
	largeActivities = 3_000_000
	largeEvents     = 2_500_000
	largeMembers    = 50
	smallOrgs       = 1_000
	smallDeals      = 1_000
	smallMembers    = 5
)

// orgPlan is one organization to seed: its identity, its members and its sizes, and the
// id ranges its rows take (base + 1 .. base + count).
type orgPlan struct {
	id                                            int64
	name                                          string
	currency                                      string
	created                                       int64
	firstUser                                     int64 // members are users firstUser, firstUser+1, ...
	roles                                         []string
	contacts, deals, tasks, activities            int
	events                                        int
	contactBase, dealBase, taskBase, activityBase int64
	data                                          *orgData
	activityCount                                 int
}

type plan struct {
	orgs   []*orgPlan
	users  int
	anchor int64
}

func roleOf(member, members int) string {
	switch {
	case member == 0:
		return "owner"
	case member <= max(1, members/25):
		return "admin"
	case member <= max(2, members/7):
		return "manager"
	default:
		return "member"
	}
}

// newPlan sizes the data set for a scale.
func newPlan(scale float64, anchor time.Time, seed uint64) (*plan, error) {
	if !(scale > 0 && scale <= 10) {
		return nil, fmt.Errorf("seed: scale must be in (0, 10], got %v", scale)
	}
	n := func(v float64, least int) int { return max(least, int(math.Round(v*scale))) }
	p := &plan{anchor: anchor.UnixMicro()}
	start := anchor.UnixMicro() - history*microsPerDay
	rng := rand.New(rand.NewPCG(seed, 0)) //nolint:gosec // reproducible data, not secrets
	add := func(o *orgPlan, members int) {
		o.id = int64(len(p.orgs) + 1)
		o.firstUser = int64(p.users + 1)
		for m := range members {
			o.roles = append(o.roles, roleOf(m, members))
		}
		p.users += members
		p.orgs = append(p.orgs, o)
	}
	add(&orgPlan{name: "Northwind Traders (large)", currency: "USD", created: start - microsPerDay,
		contacts: n(largeContacts, 2), deals: n(largeDeals, 10), tasks: n(largeTasks, 0), activities: n(largeActivities, 0),
		events: n(largeEvents, 0)}, largeMembers)
	small := n(smallOrgs, 1)
	sd := min(smallDeals, n(smallDeals*smallOrgs, 10))
	for i := range small {
		o := &orgPlan{
			name:       fmt.Sprintf("%s %d", companies[i%len(companies)], i+2),
			currency:   []string{"USD", "USD", "EUR", "EUR", "GBP", "CHF"}[rng.IntN(6)],
			created:    start + rng.Int64N(365*microsPerDay),
			contacts:   max(2, sd/10),
			deals:      sd,
			tasks:      sd / 4,
			activities: sd * 3 / 2,
			events:     sd / 2,
		}
		add(o, smallMembers)
	}
	var c, d, t, a int64
	for _, o := range p.orgs {
		o.contactBase, o.dealBase, o.taskBase, o.activityBase = c, d, t, a
		o.activityCount = max(o.activities, o.deals)
		c, d, t, a = c+int64(o.contacts), d+int64(o.deals), t+int64(o.tasks), a+int64(o.activityCount)
	}
	return p, nil
}

// dataTables are truncated by Reset, children first.
var dataTables = []string{"events", "activities", "tasks", "analytics_deals_created", "analytics_deal_totals",
	"analytics_deals_open", "analytics_deals_won", "analytics_deal_paths", "deal_visit_days", "deal_visit_months", "deal_stage_history", "deals", "pipeline_stages", "pipelines", "contact_tags", "contact_search", "contacts",
	"organization_members", "refresh_tokens", "idempotency_keys", "organizations", "users"}

// Run seeds the database at dsn, which must already be migrated.
func Run(ctx context.Context, dsn string, o Options) (Result, error) {
	began := time.Now()
	res := Result{Anchor: o.Anchor}
	if res.Anchor.IsZero() {
		res.Anchor = time.Now().UTC().Truncate(24 * time.Hour)
	}
	res.Anchor = res.Anchor.UTC()
	p, err := newPlan(o.Scale, res.Anchor, o.Seed)
	if err != nil {
		return res, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return res, fmt.Errorf("seed: connect: %w", err)
	}
	defer pool.Close()

	pr := newProgress(o.Progress)
	defer pr.stop()
	step := func(name string, fn func() error) error {
		t := time.Now()
		pr.phase(name, 0)
		if err := fn(); err != nil {
			return fmt.Errorf("seed: %s: %w", name, err)
		}
		d := time.Since(t)
		res.Steps = append(res.Steps, Step{Name: name, Duration: d})
		pr.logf("seed: %s done in %s", name, d.Round(time.Millisecond))
		return nil
	}

	if err := step("check", func() error { return prepare(ctx, pool, o.Reset) }); err != nil {
		return res, err
	}
	var hash string
	if err := step("generate", func() error {
		params := o.HashParams
		if params == nil {
			params = identity.HashParams
		}
		hash, err = argon2id.CreateHash(Password, params)
		if err != nil {
			return err
		}
		generateAll(p, o.Seed)
		return nil
	}); err != nil {
		return res, err
	}

	w := writer{p: p, seed: o.Seed, hash: hash, pr: pr, pipelines: map[int64][]int64{}}
	counts := map[string]int64{}
	copyStep := func(name string, tables ...copySpec) error {
		var total int64
		for _, t := range tables {
			total += t.rows
		}
		return step(name, func() error {
			pr.phase(name, total)
			var wg sync.WaitGroup
			errs := make([]error, len(tables))
			ns := make([]int64, len(tables))
			for i, t := range tables {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ns[i], errs[i] = pool.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, t.src)
				}()
			}
			wg.Wait()
			for i, t := range tables {
				counts[t.table] = ns[i]
			}
			return errors.Join(errs...)
		})
	}
	steps := []struct {
		name   string
		tables []copySpec
	}{
		{"users", []copySpec{w.users()}},
		{"organizations", []copySpec{w.organizations(), w.members()}},
		{"contacts", []copySpec{w.contacts()}},
		{"deals", []copySpec{w.deals()}},
		{"tasks+activities", []copySpec{w.tasks(), w.activities()}},
	}
	for _, s := range steps {
		if s.name == "organizations" {
			// Memberships reference organizations: two sequential copies in one step.
			if err := copyStep("organizations", s.tables[0]); err != nil {
				return res, err
			}
			if err := copyStep("memberships", s.tables[1]); err != nil {
				return res, err
			}
			if err := step("pipelines", func() error {
				pls, err := createPipelines(ctx, pool, p)
				for org, ids := range pls {
					w.pipelines[org] = ids
				}
				return err
			}); err != nil {
				return res, err
			}
			continue
		}
		if s.name == "tasks+activities" {
			if err := step("stage history", func() error {
				n, err := fillHistory(ctx, pool)
				counts["deal_stage_history"] = n
				return err
			}); err != nil {
				return res, err
			}
		}
		if err := copyStep(s.name, s.tables...); err != nil {
			return res, err
		}
	}
	for _, o := range p.orgs {
		o.data = nil
	}
	if err := step("events", func() error {
		n, err := insertEvents(ctx, pool, p)
		counts["events"] = n
		return err
	}); err != nil {
		return res, err
	}

	if err := step("sequences", func() error {
		for _, t := range []string{"users", "organizations", "contacts", "deals", "tasks", "activities"} {
			q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE(max(id), 0) + 1, false) FROM %s", t, t)
			if _, err := pool.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return res, err
	}
	if err := step("analytics read model", func() error { return analytics.Rebuild(ctx, pool) }); err != nil {
		return res, err
	}
	if err := step("vacuum analyze", func() error {
		_, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+strings.Join(dataTables, ", "))
		return err
	}); err != nil {
		return res, err
	}
	for _, t := range []string{"users", "organizations", "organization_members", "contacts", "deals", "tasks", "activities", "events"} {
		res.Counts = append(res.Counts, Count{Table: t, Rows: counts[t]})
	}
	for _, t := range []string{"analytics_deal_totals", "analytics_deals_created"} {
		var n int64
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return res, fmt.Errorf("seed: count %s: %w", t, err)
		}
		res.Counts = append(res.Counts, Count{Table: t, Rows: n})
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

// prepare refuses a role that row-level security would stop, and a database that already
// holds data unless reset, which truncates it.
func prepare(ctx context.Context, pool *pgxpool.Pool, reset bool) error {
	var bypass bool
	if err := pool.QueryRow(ctx, "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&bypass); err != nil {
		return err
	}
	if !bypass {
		return errors.New("the database user must be a superuser or have BYPASSRLS: COPY into tables with row-level security is refused otherwise")
	}
	if reset {
		_, err := pool.Exec(ctx, "TRUNCATE "+strings.Join(dataTables, ", ")+" RESTART IDENTITY CASCADE")
		return err
	}
	var used bool
	if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM organizations) OR EXISTS (SELECT 1 FROM users)").Scan(&used); err != nil {
		return err
	}
	if used {
		return errors.New("the database already holds organizations or users; seed it with -reset to truncate the data tables first")
	}
	return nil
}

// generateAll generates every organization's data, two organizations at a time; each
// organization has its own random stream, so the result does not depend on the order.
func generateAll(p *plan, seed uint64) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(p.orgs) {
					return
				}
				p.orgs[i].data = generate(p.orgs[i], p.anchor, seed)
			}
		}()
	}
	wg.Wait()
}

// progress prints the current step's advance every few seconds.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	name  string
	total int64
	since time.Time
	done  atomic.Int64
	quit  chan struct{}
	once  sync.Once
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, quit: make(chan struct{})}
	if w == nil {
		return p
	}
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.mu.Lock()
				name, total, since := p.name, p.total, p.since
				p.mu.Unlock()
				done := p.done.Load()
				el := time.Since(since)
				switch {
				case total > 0 && done >= total:
					// COPY checks the foreign keys of its rows when they are all in.
					p.logf("seed: %s: all %d rows sent, PostgreSQL checks their foreign keys… %s", name, total, el.Round(time.Second))
				case total > 0:
					p.logf("seed: %s %d/%d rows (%.0f%%), %.0f rows/s, %s", name, done, total,
						100*float64(done)/float64(total), float64(done)/el.Seconds(), el.Round(time.Second))
				default:
					p.logf("seed: %s… %s", name, el.Round(time.Second))
				}
			}
		}
	}()
	return p
}

func (p *progress) phase(name string, total int64) {
	p.mu.Lock()
	p.name, p.total, p.since = name, total, time.Now()
	p.done.Store(0)
	p.mu.Unlock()
}

func (p *progress) logf(format string, args ...any) {
	if p.w != nil {
		fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *progress) stop() { p.once.Do(func() { close(p.quit) }) }
