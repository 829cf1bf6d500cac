package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
)

// stages are the keys of the pipeline's stages in order, as the deals module defines them.
var stages = dealsapi.Stages

func stageOrdinal(s string) int { return dealsapi.StageOrdinal(s) }

// ops lists the benchmarked operations. Every API request is one the benchmark user (the
// organization's owner) may make; every direct-SQL side sends the statements that request
// makes the service send, in the same pipelines and transactions.
func (h *harness) ops() []op {
	ops := []op{
		{
			name: "GET /health (HTTP only, no SQL)",
			api: func(ctx context.Context, w *worker) error {
				return w.call(ctx, w.h.cfg.URL, http.MethodGet, "/health", nil, http.StatusOK, false)
			},
		},
		{
			name: "list deals, first page",
			api:  func(ctx context.Context, w *worker) error { return w.get(ctx, dealsPath(w.h.cfg, "")) },
			sql: func(ctx context.Context, w *worker) error {
				return w.dealsPage(ctx, fmt.Sprintf(sqlDealsPage, w.h.cfg.PageSize+1), true)
			},
		},
		{
			name: "list deals, no filter, first page (kept total)",
			api: func(ctx context.Context, w *worker) error {
				return w.get(ctx, "/api/v1/deals?page_size="+strconv.Itoa(w.h.cfg.PageSize))
			},
			sql: func(ctx context.Context, w *worker) error {
				org := w.h.orgID
				if err := w.scoped(ctx, org, fmt.Sprintf(sqlDealsPageAll, w.h.cfg.PageSize+1), org); err != nil {
					return err
				}
				return w.scoped(ctx, org, sqlDealsKeptCount, org)
			},
		},
		{
			name: "list deals, no filter, first page, 1,000-deal organization",
			api: func(ctx context.Context, w *worker) error {
				return w.getIn(ctx, w.h.smallOrgID, "/api/v1/deals?page_size="+strconv.Itoa(w.h.cfg.PageSize))
			},
			sql: func(ctx context.Context, w *worker) error {
				org := w.h.smallOrgID
				if err := w.scoped(ctx, org, fmt.Sprintf(sqlDealsPageAll, w.h.cfg.PageSize+1), org); err != nil {
					return err
				}
				return w.scoped(ctx, org, sqlDealsKeptCount, org)
			},
		},
		{
			name: "list deals, deep page by offset",
			api: func(ctx context.Context, w *worker) error {
				return w.get(ctx, dealsPath(w.h.cfg, "&page="+strconv.Itoa(w.h.deepPage)))
			},
			sql: func(ctx context.Context, w *worker) error {
				return w.dealsPage(ctx, fmt.Sprintf(sqlDealsPageOffset, w.h.cfg.PageSize+1, (w.h.deepPage-1)*w.h.cfg.PageSize), true)
			},
		},
	}
	if h.cursor != "" {
		o := op{
			name: "list deals, deep page by cursor",
			api: func(ctx context.Context, w *worker) error {
				return w.get(ctx, dealsPath(w.h.cfg, "&include_total=false&cursor="+url.QueryEscape(w.h.cursor)))
			},
		}
		if h.after != nil {
			o.sql = func(ctx context.Context, w *worker) error {
				return w.scoped(ctx, w.h.orgID, fmt.Sprintf(sqlDealsPageAfter, w.h.cfg.PageSize+1),
					w.h.orgID, "new", "in_progress", w.h.minAmt, w.h.after[0], w.h.after[1])
			}
		}
		ops = append(ops, o)
	}
	ops = append(ops,
		op{
			name: "get deal",
			api: func(ctx context.Context, w *worker) error {
				return w.get(ctx, "/api/v1/deals/"+strconv.FormatInt(w.randomDeal(), 10))
			},
			sql: func(ctx context.Context, w *worker) error {
				return w.scoped(ctx, w.h.orgID, sqlDealGet, w.randomDeal(), w.h.orgID)
			},
		},
		op{name: "create deal", api: method((*worker).createDealAPI), sql: method((*worker).createDealSQL)},
		op{name: "PATCH deal stage (+ activity)", api: method((*worker).patchStageAPI), sql: method((*worker).patchStageSQL), before: pickPatchDeals},
		op{
			name: "list open tasks, first page",
			api: func(ctx context.Context, w *worker) error {
				return w.get(ctx, "/api/v1/tasks?only_open=true&page_size="+strconv.Itoa(w.h.cfg.PageSize))
			},
			sql: func(ctx context.Context, w *worker) error {
				if err := w.scoped(ctx, w.h.orgID, fmt.Sprintf(sqlOpenTasksPage, w.h.cfg.PageSize+1), w.h.orgID); err != nil {
					return err
				}
				return w.scoped(ctx, w.h.orgID, sqlOpenTasksCount, false, w.h.orgID)
			},
		},
		op{
			name: "deal timeline, first page",
			api: func(ctx context.Context, w *worker) error {
				return w.get(ctx, fmt.Sprintf("/api/v1/deals/%d/activities?page_size=%d", w.randomDeal(), w.h.cfg.PageSize))
			},
			sql: func(ctx context.Context, w *worker) error {
				id, org := w.randomDeal(), w.h.orgID
				if err := w.scoped(ctx, org, sqlDealGet, id, org); err != nil {
					return err
				}
				// A first page that holds the whole timeline is its own total: the service
				// counts only when more rows follow, which the seeded deals never have.
				return w.scoped(ctx, org, fmt.Sprintf(sqlActivitiesPage, w.h.cfg.PageSize+1), id, org)
			},
		},
	)
	ops = append(ops, h.contactOps()...)
	ops = append(ops, h.exportOps()...)
	ops = append(ops, h.importOps()...)
	if h.feedCursor != "" {
		ops = append(ops, op{
			name: feedPageOp,
			api: func(ctx context.Context, w *worker) error {
				return w.get(ctx, fmt.Sprintf("/api/v1/events?page_size=%d&cursor=%s", feedPageSize, url.QueryEscape(w.h.feedCursor)))
			},
			sql: func(ctx context.Context, w *worker) error {
				return w.scoped(ctx, w.h.orgID, fmt.Sprintf(sqlFeedPage, feedPageSize+1), w.h.orgID, w.h.feedAfter, feedAudience)
			},
		})
	}
	ops = append(ops,
		op{
			name: "events feed, poll at the head (since=now)",
			api:  func(ctx context.Context, w *worker) error { return w.get(ctx, "/api/v1/events?since=now") },
			sql: func(ctx context.Context, w *worker) error {
				return w.scoped(ctx, w.h.orgID, sqlFeedHead, w.h.orgID)
			},
		},
		op{name: "summary (uncached)", uncached: true, api: summaryAPI(true), sql: method((*worker).summarySQL)},
		op{name: "summary (cached)", api: summaryAPI(false)}, // answered from the cache: no statement to compare with
		op{name: "funnel (uncached)", uncached: true, api: funnelAPI(true), sql: method((*worker).funnelSQL)},
		op{name: "funnel (cached)", api: funnelAPI(false)},
		op{name: "forecast (uncached)", uncached: true, api: reportAPI(forecastPath), sql: method((*worker).forecastSQL)},
		op{name: "velocity (uncached)", uncached: true, api: reportAPI(velocityPath), sql: method((*worker).velocitySQL)},
		op{name: "login", api: method((*worker).loginAPI), sql: method((*worker).loginSQL)},
	)
	return ops
}

// method turns a method expression of worker into an operation's function.
func method(f func(*worker, context.Context) error) func(context.Context, *worker) error {
	return func(ctx context.Context, w *worker) error { return f(w, ctx) }
}

func (w *worker) randomDeal() int64 { return w.h.deals[w.rng.IntN(len(w.h.deals))] }

func (w *worker) randomContact() int64 { return w.h.contacts[w.rng.IntN(len(w.h.contacts))] }

// dealsPage is the deals list: membership check, the page, and the count.
func (w *worker) dealsPage(ctx context.Context, page string, count bool) error {
	org := w.h.orgID
	if err := w.scoped(ctx, org, page, org, "new", "in_progress", w.h.minAmt); err != nil {
		return err
	}
	if !count {
		return nil
	}
	return w.scoped(ctx, org, sqlDealsCount, org, "new", "in_progress", w.h.minAmt)
}

func summaryAPI(uncached bool) func(context.Context, *worker) error {
	return func(ctx context.Context, w *worker) error {
		base := w.h.cfg.URL
		if uncached {
			base = w.h.cfg.UncachedURL
		}
		return w.call(ctx, base, http.MethodGet, "/api/v1/analytics/deals/summary?days=30", nil, http.StatusOK, true)
	}
}

func funnelAPI(uncached bool) func(context.Context, *worker) error {
	return func(ctx context.Context, w *worker) error {
		base := w.h.cfg.URL
		if uncached {
			base = w.h.cfg.UncachedURL
		}
		return w.call(ctx, base, http.MethodGet, "/api/v1/analytics/deals/funnel", nil, http.StatusOK, true)
	}
}

// The forecast of every pipeline over six months from the current one, and the velocity of
// the default pipeline over 90 days: the reports' defaults.
const (
	forecastPath = "/api/v1/analytics/deals/forecast?months=6"
	velocityPath = "/api/v1/analytics/deals/velocity?days=90"
)

// reportAPI GETs an analytics report from the service without a cache.
func reportAPI(path string) func(context.Context, *worker) error {
	return func(ctx context.Context, w *worker) error {
		return w.call(ctx, w.h.cfg.UncachedURL, http.MethodGet, path, nil, http.StatusOK, true)
	}
}

// forecastSQL is what the forecast sends: the organization (its time zone), the open deals
// of the read model by expected close month, every pipeline with its stages (their
// probabilities weigh the open deals) and the won deals by UTC day, over six months from the
// current one (UTC, the seeded organizations' time zone: no day is cut by a month boundary,
// so no deals are read).
func (w *worker) forecastSQL(ctx context.Context) error {
	org := w.h.orgID
	if err := w.scoped(ctx, org, sqlOrgGet, org); err != nil {
		return err
	}
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 6, 0)
	if err := w.scoped(ctx, org, sqlForecastOpen, org, from.Format(time.DateOnly), to.Format(time.DateOnly)); err != nil {
		return err
	}
	if err := w.scoped(ctx, org, sqlPipelinesAll, org); err != nil {
		return err
	}
	args := []any{org}
	for _, id := range w.h.pipelineIDs {
		args = append(args, id)
	}
	if err := w.scoped(ctx, org, inList(sqlPipelineStages, len(w.h.pipelineIDs)), args...); err != nil {
		return err
	}
	return w.scoped(ctx, org, sqlForecastWonDays, org, from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly))
}

// inList puts n placeholders, from $2, where stmt has %l.
func inList(stmt string, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+2)
	}
	return strings.Replace(stmt, "%l", strings.Join(ph, ","), 1)
}

// velocitySQL is what the velocity report sends: the default pipeline, the stage visits
// that ended within the last 90 days (whole UTC days from the deals module's read model, the
// rest of the first day and the middle visits from the history), and the deals won in them
// (whole UTC days from the analytics read model, the rest of the first day from the deals).
func (w *worker) velocitySQL(ctx context.Context) error {
	org := w.h.orgID
	if err := w.defaultPipeline(ctx); err != nil {
		return err
	}
	since, firstDayEnd := window(time.Now(), 90)
	months, daysFrom, daysTo := visitRanges(firstDayEnd)
	if err := w.scoped(ctx, org, sqlStageVisits, org, w.h.pipelineID, months.Format(time.DateOnly), daysFrom.Format(time.DateOnly),
		daysTo.Format(time.DateOnly), firstDayEnd.Format(time.DateOnly), since, firstDayEnd); err != nil {
		return err
	}
	if err := w.scoped(ctx, org, sqlWonSince, org, w.h.pipelineID, firstDayEnd.Format(time.DateOnly)); err != nil {
		return err
	}
	return w.scoped(ctx, org, sqlWonBetween, org, w.h.pipelineID, since, firstDayEnd)
}

// window is analytics' window of "the last days days": its start, and the end of its
// first UTC day (modules/analytics: window).
func window(now time.Time, days int) (from, firstDayEnd time.Time) {
	from = now.Add(-time.Duration(days) * 24 * time.Hour)
	y, m, d := from.UTC().Date()
	return from, time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
}

// visitRanges is how velocity splits a window whose first day ends at firstDayEnd (modules/deals:
// visitRangesOf): the read model's months from months on, and its days in [daysFrom, daysTo),
// added when on or after firstDayEnd and taken away before it.
func visitRanges(firstDayEnd time.Time) (months, daysFrom, daysTo time.Time) {
	start := time.Date(firstDayEnd.Year(), firstDayEnd.Month(), 1, 0, 0, 0, 0, time.UTC)
	next := start.AddDate(0, 1, 0)
	switch {
	case firstDayEnd.Equal(start):
		return start, firstDayEnd, firstDayEnd
	case next.Sub(firstDayEnd) <= firstDayEnd.Sub(start):
		return next, firstDayEnd, next
	default:
		return start, start, firstDayEnd
	}
}

func (w *worker) summarySQL(ctx context.Context) error {
	org := w.h.orgID
	if err := w.scoped(ctx, org, sqlTotals, org); err != nil {
		return err
	}
	from, dayEnd := window(time.Now(), 30)
	if err := w.scoped(ctx, org, sqlCreatedSince, org, dayEnd.Format(time.DateOnly)); err != nil {
		return err
	}
	return w.scoped(ctx, org, sqlDealsCreatedBetween, org, from, dayEnd)
}

// funnelSQL is what the funnel of the default pipeline sends: the pipeline and its stages,
// the read model's totals and its deals per set of stages visited.
func (w *worker) funnelSQL(ctx context.Context) error {
	org := w.h.orgID
	if err := w.defaultPipeline(ctx); err != nil {
		return err
	}
	if err := w.scoped(ctx, org, sqlTotals, org); err != nil {
		return err
	}
	return w.scoped(ctx, org, sqlPaths, org, w.h.pipelineID)
}

// defaultPipeline is the membership check and the default pipeline with its stages.
func (w *worker) defaultPipeline(ctx context.Context) error {
	org := w.h.orgID
	if err := w.scoped(ctx, org, sqlPipelineDefault, true, org); err != nil {
		return err
	}
	return w.scoped(ctx, org, inList(sqlPipelineStages, 1), org, w.h.pipelineID)
}

// --- writes ---

const benchAmount = "1234.50"

func (w *worker) createDealAPI(ctx context.Context) error {
	body := fmt.Sprintf(`{"contact_id": %d, "title": "Bench deal", "amount": %q, "currency": "USD"}`, w.randomContact(), benchAmount)
	return w.call(ctx, w.h.cfg.URL, http.MethodPost, "/api/v1/deals", []byte(body), http.StatusCreated, true)
}

// dealRow is a row of dealCols.
type dealRow struct {
	id, org, contact, owner int64
	title                   string
	amount                  pgtype.Numeric
	currency, status, stage string
	maxStage                int16
	lostReason              *string
	created, updated        time.Time
	pipeline                int64
	expectedClose           *time.Time
	probability             *int32
	effective               int32
	closed                  *time.Time
	stageEntered            time.Time
	deleted                 *time.Time
}

func scanDeal(r pgx.Row) (dealRow, error) {
	var d dealRow
	err := r.Scan(&d.id, &d.org, &d.contact, &d.owner, &d.title, &d.amount, &d.currency, &d.status, &d.stage, &d.maxStage,
		&d.lostReason, &d.created, &d.updated, &d.pipeline, &d.expectedClose, &d.probability, &d.effective, &d.closed, &d.stageEntered, &d.deleted)
	return d, err
}

// drain reads every row of a statement run in a transaction.
func drain(ctx context.Context, tx pgx.Tx, sql string, args ...any) error {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		_ = rows.RawValues()
	}
	rows.Close()
	return rows.Err()
}

// inTx runs fn in a transaction opened as the service opens them: BEGIN and the scope in
// one round trip.
func (w *worker) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := w.h.db.BeginTx(ctx, pgx.TxOptions{BeginQuery: fmt.Sprintf(sqlBeginScoped, idArg(w.h.orgID), idArg(w.h.userID), "")})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// createDealSQL is POST /deals: membership check, then one transaction with the contact
// check, the insert and its deal.created event, its deal_created activity and that
// activity's event, and the analytics read model's upserts.
func (w *worker) createDealSQL(ctx context.Context) error {
	org, user := w.h.orgID, w.h.userID
	amount, _ := parseAmount(benchAmount)
	return w.inTx(ctx, func(tx pgx.Tx) error {
		if err := drain(ctx, tx, sqlContactGet, w.randomContact(), org); err != nil {
			return err
		}
		d, err := scanDeal(tx.QueryRow(ctx, sqlDealInsert, org, w.randomContact(), user, "Bench deal", amount, "USD",
			"new", "qualification", 1, nil, w.h.pipelineID, nil, nil))
		if err != nil {
			return err
		}
		if err := w.event(ctx, tx, "deal.created", eventData{Object: dealObject(d, benchAmount)}); err != nil {
			return err
		}
		a, err := scanActivity(tx.QueryRow(ctx, sqlActivityInsert, org, d.id, nil, "system", `{"event":"deal_created"}`))
		if err != nil {
			return err
		}
		if err := w.event(ctx, tx, "activity.created", eventData{Object: activityObject(a)}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlTotalsUpsert1, org, d.pipeline, "new", "qualification", 1, "USD", int64(1), amount); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, sqlCreatedUpsert, org, d.created.UTC().Format(time.DateOnly), int64(1)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlOpenUpsert1, org, d.pipeline, "infinity", "qualification", "USD", false, int64(1), amount, 0); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlPathsUpsert1, org, d.pipeline, []string{"qualification"}, int64(1)); err != nil {
			return err
		}
		return w.notifyAnalytics(ctx, tx)
	})
}

// notifyAnalytics is the write's invalidation of the organization's cached reports on every
// replica (platform/cache), once per transaction.
func (w *worker) notifyAnalytics(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, sqlNotifyCache, "crm_cache", "analytics:"+strconv.FormatInt(w.h.orgID, 10))
	return err
}

// patchDeal is a deal a worker moves through the stages; each worker has its own, so the
// next stage is always a real change that records an activity.
type patchDeal struct {
	id    int64
	stage int // index in stages
}

// pickPatchDeals gives each worker its own deals of the organization, with their stages.
func pickPatchDeals(ctx context.Context, h *harness, conc int, _ bool) error {
	const perWorker = 200
	ids := make([]int64, 0, conc*perWorker)
	for _, i := range mrand.Perm(len(h.deals))[:min(len(h.deals), conc*perWorker)] { //nolint:gosec // load, not secrets
		ids = append(ids, h.deals[i])
	}
	rows, err := h.owner.Query(ctx, `SELECT id, stage FROM deals WHERE organization_id = $1 AND id = ANY($2) ORDER BY id`, h.orgID, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	h.patch = make([][]patchDeal, conc)
	i := 0
	for rows.Next() {
		var d patchDeal
		var stage string
		if err := rows.Scan(&d.id, &stage); err != nil {
			return err
		}
		d.stage = stageOrdinal(stage) - 1
		h.patch[i%conc] = append(h.patch[i%conc], d)
		i++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range h.patch {
		if len(p) == 0 {
			return fmt.Errorf("not enough deals for %d workers", conc)
		}
	}
	return nil
}

// nextPatch returns the worker's next deal and moves its stage on (back to qualification
// after closed, which the owner may do).
func (w *worker) nextPatch() (id int64, from, to int) {
	ds := w.h.patch[w.id]
	d := &ds[w.pi%len(ds)]
	w.pi++
	from = d.stage
	d.stage = (d.stage + 1) % len(stages)
	return d.id, from, d.stage
}

func (w *worker) patchStageAPI(ctx context.Context) error {
	id, _, to := w.nextPatch()
	body := `{"stage": "` + stages[to] + `"}`
	return w.call(ctx, w.h.cfg.URL, http.MethodPatch, "/api/v1/deals/"+strconv.FormatInt(id, 10), []byte(body), http.StatusOK, true)
}

// patchStageSQL is PATCH /deals/{id} {"stage"}: membership check, then one transaction
// locking the deal, updating it and recording its deal.updated event, appending its
// stage_changed activity and that activity's event, and moving the deal between two rows of
// the analytics read model.
func (w *worker) patchStageSQL(ctx context.Context) error {
	org, user := w.h.orgID, w.h.userID
	id, _, to := w.nextPatch()
	return w.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanDeal(tx.QueryRow(ctx, sqlDealGetLocked, id, org))
		if err != nil {
			return err
		}
		next := stages[to]
		if next == cur.stage {
			return nil // nothing to change: the service would write nothing
		}
		var visited []string
		if err := tx.QueryRow(ctx, sqlVisited, id, org, cur.pipeline).Scan(&visited); err != nil {
			return err
		}
		out, err := scanDeal(tx.QueryRow(ctx, sqlDealSetStage, next, stageOrdinal(next), id, org))
		if err != nil {
			return err
		}
		amount := numericText(out.amount)
		prev := map[string]string{"stage": cur.stage}
		if t := renderTime(cur.updated); t != renderTime(out.updated) {
			prev["updated_at"] = t
		}
		if err := w.event(ctx, tx, "deal.updated", eventData{Object: dealObject(out, amount), Previous: prev}); err != nil {
			return err
		}
		payload, _ := json.Marshal(map[string]string{"from": cur.stage, "to": out.stage})
		a, err := scanActivity(tx.QueryRow(ctx, sqlActivityInsert, org, id, user, "stage_changed", string(payload)))
		if err != nil {
			return err
		}
		if err := w.event(ctx, tx, "activity.created", eventData{Object: activityObject(a)}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlStageLeft, out.stageEntered, id, org); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlStageEntered, org, id, out.pipeline, out.stage, out.stageEntered, nil); err != nil {
			return err
		}
		var after []string
		if err := tx.QueryRow(ctx, sqlVisited, id, org, out.pipeline).Scan(&after); err != nil {
			return err
		}
		type row struct {
			stage  string
			max    int
			deals  int64
			amount pgtype.Numeric
		}
		rows := []row{
			{cur.stage, int(cur.maxStage), -1, negate(cur.amount)},
			{out.stage, int(out.maxStage), 1, out.amount},
		}
		if cmp.Or(cmp.Compare(rows[0].stage, rows[1].stage), cmp.Compare(rows[0].max, rows[1].max)) > 0 {
			rows[0], rows[1] = rows[1], rows[0]
		}
		if _, err = tx.Exec(ctx, sqlTotalsUpsert2,
			org, cur.pipeline, cur.status, rows[0].stage, rows[0].max, cur.currency, rows[0].deals, rows[0].amount,
			org, cur.pipeline, cur.status, rows[1].stage, rows[1].max, cur.currency, rows[1].deals, rows[1].amount); err != nil {
			return err
		}
		if err := w.notifyAnalytics(ctx, tx); err != nil {
			return err
		}
		if cur.status == "new" || cur.status == "in_progress" {
			// An open deal moves between the forecast rows of its stages (its month and
			// override unchanged; the rows' order is the stages').
			month := "infinity"
			if cur.expectedClose != nil {
				month = time.Date(cur.expectedClose.Year(), cur.expectedClose.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			}
			// amount × override for a deal with one, else 0.
			over, prod := cur.probability != nil, pgtype.Numeric{Int: big.NewInt(0), Valid: true}
			if over && cur.amount.Int != nil {
				prod = pgtype.Numeric{Int: new(big.Int).Mul(cur.amount.Int, big.NewInt(int64(*cur.probability))), Exp: cur.amount.Exp, Valid: true}
			}
			type openRow struct {
				stage          string
				deals          int64
				amount, amProb pgtype.Numeric
			}
			open := []openRow{{cur.stage, -1, negate(cur.amount), negate(prod)}, {out.stage, 1, cur.amount, prod}}
			if open[0].stage > open[1].stage {
				open[0], open[1] = open[1], open[0]
			}
			if _, err := tx.Exec(ctx, sqlOpenUpsert2,
				org, cur.pipeline, month, open[0].stage, cur.currency, over, open[0].deals, open[0].amount, open[0].amProb,
				org, cur.pipeline, month, open[1].stage, cur.currency, over, open[1].deals, open[1].amount, open[1].amProb); err != nil {
				return err
			}
		}
		if strings.Join(visited, ",") == strings.Join(after, ",") {
			return nil
		}
		sets := [][]string{visited, after}
		deals := []int64{-1, 1}
		if strings.Join(visited, ",") > strings.Join(after, ",") {
			sets[0], sets[1], deals[0], deals[1] = sets[1], sets[0], 1, -1
		}
		_, err = tx.Exec(ctx, sqlPathsUpsert2, org, cur.pipeline, sets[0], deals[0], org, cur.pipeline, sets[1], deals[1])
		return err
	})
}

// --- change feed events ---

// eventData is an event's data as the outbox renders it (platform/events): the record, and
// on an update the old values of what changed.
type eventData struct {
	Object   any               `json:"object"`
	Previous map[string]string `json:"previous_attributes,omitempty"`
}

// dealView is a deal as its GET renders it (modules/deals view.go), with the "object"
// member the outbox adds.
type dealView struct {
	Object     string  `json:"object"`
	ID         int64   `json:"id"`
	ContactID  int64   `json:"contact_id"`
	OwnerID    int64   `json:"owner_id"`
	Title      string  `json:"title"`
	Amount     string  `json:"amount"`
	Currency   string  `json:"currency"`
	Status     string  `json:"status"`
	Stage      string  `json:"stage"`
	LostReason *string `json:"lost_reason"`
	CreatedAt  string  `json:"created_at"`
	UpdatedAt  string  `json:"updated_at"`

	PipelineID           int64   `json:"pipeline_id"`
	ExpectedCloseDate    *string `json:"expected_close_date"`
	Probability          *int32  `json:"probability"`
	EffectiveProbability int32   `json:"effective_probability"`
	ClosedAt             *string `json:"closed_at"`
	StageEnteredAt       string  `json:"stage_entered_at"`
}

func dealObject(d dealRow, amount string) dealView {
	return dealView{Object: "deal", ID: d.id, ContactID: d.contact, OwnerID: d.owner, Title: d.title, Amount: amount,
		Currency: d.currency, Status: d.status, Stage: d.stage, LostReason: d.lostReason,
		CreatedAt: renderTime(d.created), UpdatedAt: renderTime(d.updated),
		PipelineID: d.pipeline, Probability: d.probability, EffectiveProbability: d.effective,
		StageEnteredAt: renderTime(d.stageEntered)}
}

// activityRow is a row of activityCols.
type activityRow struct {
	id, org, deal int64
	author        *int64
	typ           string
	payload       []byte
	created       time.Time
	edited        *time.Time
}

func scanActivity(r pgx.Row) (activityRow, error) {
	var a activityRow
	err := r.Scan(&a.id, &a.org, &a.deal, &a.author, &a.typ, &a.payload, &a.created, &a.edited)
	return a, err
}

// activityView is an activity as the deal timeline renders it (modules/timeline view.go).
type activityView struct {
	Object    string          `json:"object"`
	ID        int64           `json:"id"`
	DealID    int64           `json:"deal_id"`
	AuthorID  *int64          `json:"author_id"`
	Type      string          `json:"type"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt string          `json:"created_at"`
	EditedAt  *string         `json:"edited_at"`
}

func activityObject(a activityRow) activityView {
	v := activityView{Object: "activity", ID: a.id, DealID: a.deal, AuthorID: a.author, Type: a.typ, Payload: a.payload,
		CreatedAt: renderTime(a.created)}
	if a.edited != nil {
		s := renderTime(*a.edited)
		v.EditedAt = &s
	}
	return v
}

// renderTime is a timestamp as the API renders it: RFC 3339 in UTC, whole seconds.
func renderTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// numericText is an amount as its decimal text.
func numericText(n pgtype.Numeric) string {
	v, err := n.Value()
	if s, ok := v.(string); ok && err == nil {
		return s
	}
	return ""
}

// event records the event of a write in its transaction, as the outbox does: the actor is
// the benchmark user, the audience everyone.
func (w *worker) event(ctx context.Context, tx pgx.Tx, typ string, data eventData) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	var id int64
	return tx.QueryRow(ctx, sqlEventInsert, w.h.orgID, typ, int16(0), "user", w.h.userID, string(b)).Scan(&id)
}

func negate(n pgtype.Numeric) pgtype.Numeric {
	if n.Int != nil {
		n.Int = new(big.Int).Neg(n.Int)
	}
	return n
}

func parseAmount(s string) (pgtype.Numeric, error) {
	var n pgtype.Numeric
	if err := n.Scan(s); err != nil {
		return n, fmt.Errorf("bench: amount %q: %w", s, err)
	}
	return n, nil
}

// --- login ---

func (w *worker) loginAPI(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"email": w.h.cfg.Email, "password": w.h.cfg.Password})
	return w.call(ctx, w.h.cfg.URL, http.MethodPost, "/api/v1/auth/login", body, http.StatusOK, false)
}

// loginSQL is the SQL of a login: the user by email and a new refresh token (both outside
// any tenant scope). The password hash the service verifies in between is not SQL.
func (w *worker) loginSQL(ctx context.Context) error {
	var (
		id                int64
		email, hash, name string
		created           time.Time
	)
	if err := w.h.db.QueryRow(ctx, sqlUserByEmail, w.h.cfg.Email).Scan(&id, &email, &hash, &name, &created); err != nil {
		return err
	}
	var family pgtype.UUID
	token := make([]byte, 32)
	_, _ = rand.Read(family.Bytes[:])
	_, _ = rand.Read(token)
	family.Valid = true
	_, err := w.h.db.Exec(ctx, sqlRefreshInsert, id, family, token, time.Now().Add(720*time.Hour))
	return err
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
