package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mini-crm/crm/cmd/crm/seed"
	"github.com/mini-crm/crm/platform/database"
)

// Config is one benchmark run.
type Config struct {
	// URL is the service, with its analytics cache on. UncachedURL is a second instance on
	// the same database with ANALYTICS_CACHE_TTL=0, for the uncached reports; without it
	// they are not measured. Only loopback addresses are accepted.
	URL, UncachedURL string
	// PID and UncachedPID are the servers' process ids, for their memory (0: not sampled).
	PID, UncachedPID int
	// DSN connects as the database owner: the harness reads ids with it, and the
	// direct-SQL side switches to the application role (SET ROLE crm_app) on it, as the
	// service's pool does.
	DSN string
	// Role is the role the direct-SQL side runs as; "" means crm_app.
	Role string

	Concurrency      []int
	Duration, Warmup time.Duration
	Quick            bool
	// Rounds is how many times each row measures its two sides, interleaved (API, SQL, API,
	// SQL…): the row sums them, so that a stall of the machine (a disk flush) lands on
	// both sides alike instead of on whichever side it happened to meet. 1 by default.
	Rounds int
	// MaxRequests bounds each worker's requests per run, beside the duration.
	MaxRequests int

	PageSize    int
	DeepPage    int // the page number of the deep page by offset (lowered on small data)
	CursorPages int // pages followed by next_cursor to reach the deep page by cursor
	MinAmount   string

	// SettleWait bounds the wait, before the first operation, for the service's memory to
	// shrink back after its start and the harness's login (both hash a password with
	// argon2id, 64 MiB a time), so that the first row does not carry that garbage.
	SettleWait time.Duration

	// CursorSecret is the service's JWT_SECRET, which signs its list cursors: the benchmark
	// builds the feed's cursor in the middle of the organization's events with it.
	CursorSecret string
	// Deliveries is how many writes the webhook delivery latency is measured on (0: none).
	Deliveries int

	Email, Password string         // the benchmark user: the large organization's owner
	Only            *regexp.Regexp // runs only the operations whose name matches
	Log             io.Writer      // progress lines
}

// DefaultConfig is the full benchmark against URL and DSN.
func DefaultConfig() Config {
	return Config{
		Concurrency: []int{4, 32}, Duration: 8 * time.Second, Warmup: 2 * time.Second, MaxRequests: 5_000_000,
		PageSize: 20, DeepPage: 5000, CursorPages: 50, MinAmount: "1000", SettleWait: 30 * time.Second,
		CursorSecret: jwtSecret, Deliveries: 50,
		Email: seed.Email(1, 0), Password: seed.Password, Role: "crm_app", Log: io.Discard,
	}
}

// QuickDurations shortens cfg to the quick mode: the whole run in well under two minutes.
func QuickDurations(cfg Config) Config {
	cfg.Quick = true
	cfg.Duration, cfg.Warmup, cfg.CursorPages, cfg.SettleWait = time.Second, 250*time.Millisecond, 5, 3*time.Second
	cfg.Deliveries = 10
	return cfg
}

// Stats are the measurements of one side of one operation at one concurrency.
type Stats struct {
	Requests, Errors int
	Elapsed          time.Duration
	P50, P95, P99    time.Duration
	FirstError       string
	lat              []time.Duration // sorted, for merging rounds
}

// merge is s and t measured one after the other: their requests and times summed, the
// percentiles over both.
func (s Stats) merge(t Stats) Stats {
	m := Stats{Requests: s.Requests + t.Requests, Errors: s.Errors + t.Errors, Elapsed: s.Elapsed + t.Elapsed, FirstError: s.FirstError}
	if m.FirstError == "" {
		m.FirstError = t.FirstError
	}
	m.lat = append(slices.Clone(s.lat), t.lat...)
	slices.Sort(m.lat)
	m.P50, m.P95, m.P99 = quantile(m.lat, 0.50), quantile(m.lat, 0.95), quantile(m.lat, 0.99)
	return m
}

// RPS is the throughput.
func (s Stats) RPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// Result is one operation at one concurrency.
type Result struct {
	Op          string
	Concurrency int
	API         Stats
	SQL         *Stats // nil when there is no direct-SQL side
	RSSPeakKB   int64  // the serving process's largest VmRSS sampled during the API run
	// RoundRatios are API ÷ SQL of each round, when the row was measured in several.
	RoundRatios []float64
}

// Ratio is API throughput ÷ direct-SQL throughput, 0 when undefined.
func (r Result) Ratio() float64 {
	if r.SQL == nil || r.SQL.RPS() == 0 {
		return 0
	}
	return r.API.RPS() / r.SQL.RPS()
}

// Report is a whole run.
type Report struct {
	Config  Config
	Started time.Time
	Elapsed time.Duration
	Machine string
	Data    string
	Notes   []string
	Results []Result
	// HWMKB is the high-water mark of the servers' resident memory (VmHWM) at the end.
	HWMKB, UncachedHWMKB int64
	// SettledKB is the service's resident memory before the first operation, once it
	// stopped shrinking after the start and the harness's login (at most SettleWait).
	SettledKB, UncachedSettledKB int64
	Settled                      time.Duration
	// FeedPlan is EXPLAIN (ANALYZE, BUFFERS) of the feed's page from the benchmark's cursor.
	FeedPlan string
	// Delivery is the webhook delivery latency, nil when not measured.
	Delivery *DeliveryStats
}

// op is one benchmarked operation: a request to the service and the same statements sent
// straight to PostgreSQL.
type op struct {
	name     string
	uncached bool // served by the instance without the analytics cache
	api      func(ctx context.Context, w *worker) error
	sql      func(ctx context.Context, w *worker) error
	// before runs once before each side's run (e.g. to pick the deals to patch).
	before func(ctx context.Context, h *harness, conc int, sqlSide bool) error
	// lowestOnly runs the operation at the lowest concurrency of the run only (an export).
	lowestOnly bool
}

// harness holds what the operations share.
type harness struct {
	pipelineID int64 // the organization's default pipeline, for the direct-SQL creates
	cfg        Config
	client     *http.Client
	token      string
	tokenAt    time.Time // when token was issued
	userID     int64
	orgID      int64
	smallOrgID int64   // an organization of about 1,000 deals the benchmark user is admin of; 0 when none
	deals      []int64 // a random sample of the organization's deals
	contacts   []int64 // and of its contacts
	deepPage   int
	cursor     string   // a next_cursor CursorPages pages deep, "" without keyset pagination
	after      []string // its key values, for the direct-SQL side
	// feedCursor is a feed cursor in the middle of the organization's events, "" when it
	// has too few; feedAfter is its position.
	feedCursor string
	feedAfter  int64
	owner      *pgxpool.Pool
	db         *pgxpool.Pool // the direct-SQL side of the current concurrency
	patch      [][]patchDeal // per worker
	minAmt     any

	pipelineIDs []int64 // every pipeline of the organization, in order, for the direct-SQL forecast
}

// worker is one of the concurrent clients of a run.
type worker struct {
	h   *harness
	id  int
	rng *rand.Rand
	buf bytes.Buffer
	pi  int
	org int64 // the organization of the next request when not the large one (getIn)
}

func loopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s: the benchmark only sends requests to 127.0.0.1", raw)
	}
	return nil
}

// Run runs the benchmark.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	for _, u := range []string{cfg.URL, cfg.UncachedURL} {
		if u == "" {
			continue
		}
		if err := loopback(u); err != nil {
			return nil, err
		}
	}
	if cfg.URL == "" {
		return nil, errors.New("bench: no service URL")
	}
	rep := &Report{Config: cfg, Started: time.Now().UTC()}
	maxConc := slices.Max(cfg.Concurrency)
	h := &harness{cfg: cfg, client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 2 * maxConc, MaxIdleConnsPerHost: 2 * maxConc, DisableCompression: true,
			IdleConnTimeout: time.Minute},
	}}
	owner, err := pgxpool.New(ctx, cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("bench: connect: %w", err)
	}
	defer owner.Close()
	h.owner = owner
	if err := h.setup(ctx, rep); err != nil {
		return nil, err
	}
	rep.SettledKB, rep.Settled = h.settle(ctx, cfg.PID, false, cfg.SettleWait)
	if cfg.UncachedURL != "" {
		rep.UncachedSettledKB, _ = h.settle(ctx, cfg.UncachedPID, true, cfg.SettleWait)
	}
	ops := h.ops()
	began := time.Now()
	pools := map[int]*pgxpool.Pool{}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for _, conc := range cfg.Concurrency {
		p, err := h.openDirect(ctx, conc)
		if err != nil {
			return nil, err
		}
		pools[conc] = p
	}
	// Operation by operation, each at every concurrency: the memory a row leaves behind
	// (garbage the Go runtime returns to the system only gradually) then stays within the
	// operation, and login, whose password hashing takes 64 MiB a time, runs last.
	for _, o := range ops {
		if cfg.Only != nil && !cfg.Only.MatchString(o.name) {
			continue
		}
		if o.uncached && cfg.UncachedURL == "" {
			continue
		}
		for _, conc := range cfg.Concurrency {
			if o.lowestOnly && conc != slices.Min(cfg.Concurrency) {
				continue
			}
			h.db = pools[conc]
			if time.Since(h.tokenAt) > tokenRenewal {
				if err := h.login(ctx); err != nil {
					return nil, err
				}
			}
			r := Result{Op: o.name, Concurrency: conc}
			pid := cfg.PID
			if o.uncached {
				pid = cfg.UncachedPID
			}
			if o.before != nil {
				if err := o.before(ctx, h, conc, false); err != nil {
					return nil, fmt.Errorf("bench: %s: %w", o.name, err)
				}
			}
			for round := range max(1, cfg.Rounds) {
				a, rss := h.measure(ctx, conc, o.api, pid)
				r.RSSPeakKB = max(r.RSSPeakKB, rss)
				if round == 0 {
					r.API = a
				} else {
					r.API = r.API.merge(a)
				}
				if o.sql == nil {
					continue
				}
				if o.before != nil {
					if err := o.before(ctx, h, conc, true); err != nil {
						return nil, fmt.Errorf("bench: %s: %w", o.name, err)
					}
				}
				s, _ := h.measure(ctx, conc, o.sql, 0)
				if cfg.Rounds > 1 {
					r.RoundRatios = append(r.RoundRatios, Result{API: a, SQL: &s}.Ratio())
				}
				if r.SQL == nil {
					r.SQL = &s
				} else {
					m := r.SQL.merge(s)
					r.SQL = &m
				}
				if round+1 < cfg.Rounds && o.before != nil {
					if err := o.before(ctx, h, conc, false); err != nil {
						return nil, fmt.Errorf("bench: %s: %w", o.name, err)
					}
				}
			}
			rep.Results = append(rep.Results, r)
			line := fmt.Sprintf("bench: c=%-3d %-34s API %7.0f req/s p50 %7.2f ms p99 %7.2f ms err %d", conc, o.name,
				r.API.RPS(), ms(r.API.P50), ms(r.API.P99), r.API.Errors)
			if r.SQL != nil {
				line += fmt.Sprintf(" | SQL %7.0f req/s p50 %7.2f ms err %d | ratio %.2f", r.SQL.RPS(), ms(r.SQL.P50), r.SQL.Errors, r.Ratio())
			}
			fmt.Fprintln(cfg.Log, line)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	if cfg.Deliveries > 0 && (cfg.Only == nil || cfg.Only.MatchString(deliveryOp)) {
		// A fresh token: the run may have outlived the first one.
		if err := h.login(ctx); err != nil {
			return nil, err
		}
		d := h.deliveryLatency(ctx, cfg.Deliveries)
		rep.Delivery = &d
		fmt.Fprintf(cfg.Log, "bench: %s: %d/%d delivered, p50 %.2f ms p99 %.2f ms max %.2f ms %s\n", deliveryOp, d.Delivered, d.Writes,
			ms(d.P50), ms(d.P99), ms(d.Max), d.FirstError)
	}
	rep.Notes = append(rep.Notes, exportNotes()...)
	rep.Notes = append(rep.Notes, importNotes()...)
	rep.Elapsed = time.Since(began)
	rep.HWMKB = procStatusKB(cfg.PID, "VmHWM")
	rep.UncachedHWMKB = procStatusKB(cfg.UncachedPID, "VmHWM")
	return rep, nil
}

// settle drives light load (the funnel, at concurrency 4) in one-second rounds until
// the resident memory of pid stops shrinking by more than 1 MiB a round, or wait is over,
// and returns it with the time taken. An idle Go process keeps the garbage of its last
// allocations (the argon2id buffers of the start and of the harness's login: 64 MiB each):
// only garbage collections, which allocations trigger, let the runtime return it.
func (h *harness) settle(ctx context.Context, pid int, uncached bool, wait time.Duration) (int64, time.Duration) {
	if pid <= 0 {
		return 0, 0
	}
	start := time.Now()
	cfg := h.cfg
	defer func() { h.cfg = cfg }()
	h.cfg.Warmup, h.cfg.Duration = 0, time.Second
	prev := procStatusKB(pid, "VmRSS")
	for time.Since(start) < wait && ctx.Err() == nil {
		h.measure(ctx, 4, funnelAPI(uncached), 0)
		kb := procStatusKB(pid, "VmRSS")
		if kb > prev-1024 {
			break
		}
		prev = kb
	}
	return procStatusKB(pid, "VmRSS"), time.Since(start)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// openDirect opens the direct-SQL side's pool for a concurrency: one connection per
// worker, as the application role, with the service's statement timeout.
func (h *harness) openDirect(ctx context.Context, conc int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(h.cfg.DSN)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns, cfg.MinConns = int32(conc), int32(conc)
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "10000"
	for k, v := range database.SessionParams { // the service's session settings (no parallel query)
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	if h.cfg.Role != "" {
		setRole := "SET ROLE " + pgx.Identifier{h.cfg.Role}.Sanitize()
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, setRole)
			return err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: direct pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("bench: direct pool: %w", err)
	}
	return pool, nil
}

// measure runs fn from conc workers for the warm-up, then records it for the duration.
// When pid is set, the process's resident memory is sampled meanwhile.
func (h *harness) measure(ctx context.Context, conc int, fn func(context.Context, *worker) error, pid int) (Stats, int64) {
	var rss int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	if pid > 0 {
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				rss = max(rss, procStatusKB(pid, "VmRSS"))
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
	}
	// A request counts when it completes after the warm-up. The run lasts the duration, and
	// longer (up to twice the duration more) until every client has completed one request,
	// so that slow operations at high concurrency still give their latency.
	start := time.Now()
	recordFrom := start.Add(h.cfg.Warmup)
	end := recordFrom.Add(h.cfg.Duration)
	hardEnd := end.Add(2 * h.cfg.Duration)
	var recorded atomic.Int64
	type out struct {
		lat      []time.Duration
		errs     int
		firstErr string
		last     time.Time
	}
	outs := make([]out, conc)
	var wg sync.WaitGroup
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{h: h, id: i, rng: rand.New(rand.NewPCG(uint64(i)+1, uint64(time.Now().UnixNano())))} //nolint:gosec // load, not secrets
			o := &outs[i]
			o.lat = make([]time.Duration, 0, 4096)
			for n := 0; n < h.cfg.MaxRequests && ctx.Err() == nil; n++ {
				t0 := time.Now()
				if !t0.Before(end) && (recorded.Load() >= int64(conc) || !t0.Before(hardEnd)) {
					break
				}
				err := fn(ctx, w)
				t1 := time.Now()
				if t1.Before(recordFrom) {
					continue
				}
				recorded.Add(1)
				o.lat = append(o.lat, t1.Sub(t0))
				o.last = t1
				if err != nil {
					o.errs++
					if o.firstErr == "" {
						o.firstErr = err.Error()
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	sampler.Wait()
	var s Stats
	var all []time.Duration
	last := recordFrom
	for _, o := range outs {
		all = append(all, o.lat...)
		s.Errors += o.errs
		if s.FirstError == "" {
			s.FirstError = o.firstErr
		}
		if o.last.After(last) {
			last = o.last
		}
	}
	s.Requests = len(all)
	s.Elapsed = last.Sub(recordFrom)
	slices.Sort(all)
	s.lat = all
	s.P50, s.P95, s.P99 = quantile(all, 0.50), quantile(all, 0.95), quantile(all, 0.99)
	return s, rss
}

// --- HTTP side ---

// call sends one request and fails unless the status is want. The body is read into the
// worker's buffer.
func (w *worker) call(ctx context.Context, base, method, path string, body []byte, want int, auth bool) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+w.h.token)
		org := w.h.orgID
		if w.org != 0 {
			org = w.org
		}
		req.Header.Set("X-Organization-Id", strconv.FormatInt(org, 10))
	}
	res, err := w.h.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	w.buf.Reset()
	if _, err := w.buf.ReadFrom(res.Body); err != nil {
		return err
	}
	if res.StatusCode != want {
		b := w.buf.Bytes()
		return fmt.Errorf("%s %s: status %d: %s", method, path, res.StatusCode, b[:min(len(b), 200)])
	}
	return nil
}

func (w *worker) get(ctx context.Context, path string) error {
	return w.call(ctx, w.h.cfg.URL, http.MethodGet, path, nil, http.StatusOK, true)
}

// getIn is get in another organization of the benchmark user (the small one).
func (w *worker) getIn(ctx context.Context, org int64, path string) error {
	w.org = org
	defer func() { w.org = 0 }()
	return w.get(ctx, path)
}

// --- direct-SQL side ---

func idArg(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// scoped runs sql in one pipeline after the scope statement, as the service's scoped
// querier does, and reads every row.
func (w *worker) scoped(ctx context.Context, org int64, sql string, args ...any) error {
	_, err := w.scopedRows(ctx, org, sql, args...)
	return err
}

// scopedRows is scoped, returning how many rows the statement gave.
func (w *worker) scopedRows(ctx context.Context, org int64, sql string, args ...any) (int, error) {
	return w.scopedRowsIn(ctx, sqlScope, org, sql, args...)
}

// scopedRowsIn is scopedRows after the given scope statement (sqlScope or sqlScopePerValues).
func (w *worker) scopedRowsIn(ctx context.Context, scope string, org int64, sql string, args ...any) (int, error) {
	b := &pgx.Batch{}
	b.Queue(scope, idArg(org), idArg(w.h.userID), "") // a person: no API key
	b.Queue(sql, args...)
	br := w.h.db.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return 0, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return 0, err
	}
	n := 0
	for rows.Next() {
		_ = rows.RawValues()
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		_ = br.Close()
		return 0, err
	}
	return n, br.Close()
}

// --- setup ---

func (h *harness) login(ctx context.Context) error {
	w := &worker{h: h}
	body, _ := json.Marshal(map[string]string{"email": h.cfg.Email, "password": h.cfg.Password})
	if err := w.call(ctx, h.cfg.URL, http.MethodPost, "/api/v1/auth/login", body, http.StatusOK, false); err != nil {
		return fmt.Errorf("bench: login as %s: %w", h.cfg.Email, err)
	}
	var res struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(w.buf.Bytes(), &res); err != nil {
		return fmt.Errorf("bench: login: %w", err)
	}
	h.token, h.userID, h.tokenAt = res.AccessToken, res.User.ID, time.Now()
	return nil
}

// tokenRenewal is the age at which the harness signs in again before an operation: a full
// run lasts longer than an access token (15 minutes by default).
const tokenRenewal = 5 * time.Minute

func (h *harness) setup(ctx context.Context, rep *Report) error {
	if err := h.login(ctx); err != nil {
		return err
	}
	w := &worker{h: h}
	if err := w.call(ctx, h.cfg.URL, http.MethodGet, "/api/v1/organizations/me", nil, http.StatusOK, true); err != nil {
		return err
	}
	var orgs []struct {
		ID   int64  `json:"id"`
		Role string `json:"role"`
	}
	if err := json.Unmarshal(w.buf.Bytes(), &orgs); err != nil {
		return fmt.Errorf("bench: organizations of the benchmark user: %w", err)
	}
	if len(orgs) == 0 {
		return errors.New("bench: the benchmark user has no organization")
	}
	h.orgID = orgs[0].ID
	for _, o := range orgs {
		if o.Role == "owner" && o.ID < h.orgID {
			h.orgID = o.ID
		}
	}
	// A small organization (the seed's second, 1,000 deals) the benchmark user also belongs
	// to, to compare a list's first page there with the large organization's.
	if err := h.owner.QueryRow(ctx, `WITH small AS (SELECT id AS organization_id FROM organizations WHERE id <> $1 ORDER BY id LIMIT 1),
		joined AS (INSERT INTO organization_members (organization_id, user_id, role)
			SELECT organization_id, $2, 'admin' FROM small ON CONFLICT DO NOTHING)
		SELECT coalesce((SELECT organization_id FROM small), 0)`, h.orgID, h.userID).Scan(&h.smallOrgID); err != nil {
		return fmt.Errorf("bench: a small organization: %w", err)
	}
	if err := h.owner.QueryRow(ctx, "SELECT pipelines_default_id($1)", h.orgID).Scan(&h.pipelineID); err != nil {
		return fmt.Errorf("bench: the organization's default pipeline: %w", err)
	}
	if err := h.owner.QueryRow(ctx, "SELECT array_agg(id ORDER BY position, id) FROM pipelines WHERE organization_id = $1",
		h.orgID).Scan(&h.pipelineIDs); err != nil {
		return fmt.Errorf("bench: the organization's pipelines: %w", err)
	}
	// Deals and contacts to address, drawn from the organization's own (its ids need not
	// be contiguous: the benchmark itself creates deals).
	var err error
	if h.deals, err = sampleIDs(ctx, h.owner, "deals", h.orgID, 100_000); err != nil {
		return err
	}
	if h.contacts, err = sampleIDs(ctx, h.owner, "contacts", h.orgID, 20_000); err != nil {
		return err
	}
	if len(h.deals) == 0 || len(h.contacts) == 0 {
		return errors.New("bench: the organization has no deals or contacts; seed the database first")
	}
	amt, err := parseAmount(h.cfg.MinAmount)
	if err != nil {
		return err
	}
	h.minAmt = amt

	// The deep page: no deeper than half the filtered list.
	if err := w.get(ctx, dealsPath(h.cfg, "")); err != nil {
		return err
	}
	var first struct {
		Total      *int64  `json:"total"`
		NextCursor *string `json:"next_cursor"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(w.buf.Bytes(), &first); err != nil {
		return err
	}
	_ = json.Unmarshal(w.buf.Bytes(), &raw)
	total := int64(0)
	if first.Total != nil {
		total = *first.Total
	}
	h.deepPage = int(min(int64(h.cfg.DeepPage), max(2, total/int64(h.cfg.PageSize)/2)))
	if _, ok := raw["next_cursor"]; ok && first.NextCursor != nil {
		if err := h.findCursor(ctx, *first.NextCursor); err != nil {
			return err
		}
	} else {
		rep.Notes = append(rep.Notes, "the deals list returns no next_cursor: the deep page by cursor is not measured")
	}
	if err := h.feedSetup(ctx, rep); err != nil {
		return err
	}

	// Describe the machine and the data.
	var pgVersion string
	_ = h.owner.QueryRow(ctx, "SHOW server_version").Scan(&pgVersion)
	rep.Machine = machine(pgVersion)
	var deals, contacts, tasks, acts, evs, allDeals, allActs, allEvs, orgsN int64
	_ = h.owner.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM deals WHERE organization_id = $1), (SELECT count(*) FROM contacts WHERE organization_id = $1),
		(SELECT count(*) FROM tasks WHERE organization_id = $1), (SELECT count(*) FROM activities WHERE organization_id = $1),
		(SELECT count(*) FROM events WHERE organization_id = $1),
		(SELECT count(*) FROM deals), (SELECT count(*) FROM activities), (SELECT count(*) FROM events), (SELECT count(*) FROM organizations)`, h.orgID).
		Scan(&deals, &contacts, &tasks, &acts, &evs, &allDeals, &allActs, &allEvs, &orgsN)
	rep.Data = fmt.Sprintf("organization %d (the benchmark's) holds %s deals, %s contacts, %s tasks, %s activities and %s events; the database holds %s organizations, %s deals, %s activities and %s events",
		h.orgID, thousands(deals), thousands(contacts), thousands(tasks), thousands(acts), thousands(evs), thousands(orgsN), thousands(allDeals),
		thousands(allActs), thousands(allEvs))
	rep.Notes = append(rep.Notes, fmt.Sprintf("deals list: `%s`, %d matching deals; deep page by offset: page %d (offset %d)",
		dealsPath(h.cfg, ""), total, h.deepPage, (h.deepPage-1)*h.cfg.PageSize))
	if h.cursor != "" {
		rep.Notes = append(rep.Notes, fmt.Sprintf("deep page by cursor: the next_cursor after %d pages, with include_total=false", h.cfg.CursorPages))
	}
	return nil
}

// sampleIDs returns up to n random ids of the organization's rows of table.
func sampleIDs(ctx context.Context, db *pgxpool.Pool, table string, orgID int64, n int) ([]int64, error) {
	rows, err := db.Query(ctx, "SELECT id FROM "+pgx.Identifier{table}.Sanitize()+" WHERE organization_id = $1 ORDER BY random() LIMIT $2", orgID, n)
	if err != nil {
		return nil, fmt.Errorf("bench: sample %s: %w", table, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("bench: sample %s: %w", table, err)
	}
	return ids, nil
}

// findCursor follows next_cursor from the first page to CursorPages pages deep, and
// decodes the last cursor's key values for the direct-SQL side (the cursor is opaque to
// clients; the benchmark reads it to send the same keyset query).
func (h *harness) findCursor(ctx context.Context, next string) error {
	w := &worker{h: h}
	cur := next
	for range h.cfg.CursorPages - 1 {
		if err := w.get(ctx, dealsPath(h.cfg, "&include_total=false&cursor="+url.QueryEscape(cur))); err != nil {
			return err
		}
		var page struct {
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(w.buf.Bytes(), &page); err != nil {
			return err
		}
		if page.NextCursor == nil {
			break
		}
		cur = *page.NextCursor
	}
	h.cursor = cur
	if b, err := base64URL(cur); err == nil {
		var c struct {
			V []string `json:"v"`
		}
		if json.Unmarshal(b, &c) == nil && len(c.V) == 2 {
			h.after = c.V
		}
	}
	return nil
}

// dealsPath is the benchmark's deals list: two statuses and a minimum amount, newest first.
func dealsPath(cfg Config, extra string) string {
	return fmt.Sprintf("/api/v1/deals?status=new&status=in_progress&min_amount=%s&order_by=created_at&order=desc&page_size=%d%s",
		cfg.MinAmount, cfg.PageSize, extra)
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
