package analytics

import (
	"context"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/cache"
	"github.com/mini-crm/crm/platform/database"
)

// Deals is what this module uses of the deals facade: the deals created, and won, in the
// part of a day that the daily counts cannot split, and the stage visits of velocity.
type Deals interface {
	CountCreatedBetween(ctx context.Context, orgID int64, from, to time.Time) (int64, error)
	CountCreatedInPipelineBetween(ctx context.Context, orgID, pipelineID int64, from, to time.Time) (int64, error)
	WonByMonth(ctx context.Context, orgID int64, pipelineID *int64, loc *time.Location, ranges [][2]time.Time) ([]dealsapi.MonthTotals, error)
	StageVisits(ctx context.Context, orgID, pipelineID int64, since time.Time) ([]dealsapi.StageVisits, error)
	WonBetween(ctx context.Context, orgID, pipelineID int64, from, to time.Time) (int64, *big.Int, error)
}

// Pipelines is what this module uses of the pipelines facade: whether a pipeline named in a
// query is one of the organization's, its stages in their current order, and the default
// pipeline the funnel and the velocity report show when no pipeline is named.
type Pipelines interface {
	Pipeline(ctx context.Context, orgID, id int64) (pipelinesapi.Pipeline, error)
	Default(ctx context.Context, orgID int64) (pipelinesapi.Pipeline, error)
	Pipelines(ctx context.Context, orgID int64) ([]pipelinesapi.Pipeline, error)
}

// Orgs is what this module uses of the organizations facade: the time zone the forecast's
// months are taken in.
type Orgs interface {
	Organization(ctx context.Context, orgID int64) (orgsapi.Organization, error)
}

// Service computes the reports from the read model and keeps the read model in step with
// deal writes.
type Service struct {
	db        *database.DB
	store     store
	deals     Deals
	pipelines Pipelines
	orgs      Orgs
	cache     *cache.Cache
	now       func() time.Time
}

// Summary returns the current organization's summary with new deals counted over the last
// days days (already validated: MinDays..MaxDays): of every pipeline, or of one when
// pipelineID is set (a pipeline of another organization is pipelinesapi.ErrPipelineNotFound).
func (s *Service) Summary(ctx context.Context, days int, pipelineID *int64) (Summary, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Summary{}, err
	}
	key := "summary:" + strconv.Itoa(days)
	if pipelineID != nil {
		if _, err := s.pipelines.Pipeline(ctx, p.OrgID, *pipelineID); err != nil {
			return Summary{}, err
		}
		key += ":" + strconv.FormatInt(*pipelineID, 10)
	}
	return cached(s, p.OrgID, key, func() (Summary, error) {
		rows, err := s.store.totals(ctx, p.OrgID)
		if err != nil {
			return Summary{}, err
		}
		if pipelineID != nil {
			rows = slices.DeleteFunc(rows, func(r totalsRow) bool { return r.PipelineID != *pipelineID })
			now := s.now()
			n, err := s.deals.CountCreatedInPipelineBetween(ctx, p.OrgID, *pipelineID, now.Add(-time.Duration(days)*24*time.Hour), now.Add(time.Nanosecond))
			if err != nil {
				return Summary{}, err
			}
			return summarize(rows, days, n), nil
		}
		n, err := s.newDeals(ctx, p.OrgID, days)
		if err != nil {
			return Summary{}, err
		}
		return summarize(rows, days, n), nil
	})
}

// newDeals counts the deals created at or after now − days×24h: the whole UTC days after
// the window's first day from the daily counts, the rest of the first day from the deals.
func (s *Service) newDeals(ctx context.Context, orgID int64, days int) (int64, error) {
	from, firstDayEnd := window(s.now(), days)
	whole, err := s.store.createdSince(ctx, orgID, firstDayEnd)
	if err != nil {
		return 0, err
	}
	part, err := s.deals.CountCreatedBetween(ctx, orgID, from, firstDayEnd)
	if err != nil {
		return 0, err
	}
	return whole + part, nil
}

// Funnel returns the current organization's funnel: of the stages of the pipeline, the
// default one without pipelineID, in their current order, reached computed from the stage
// history under that order.
func (s *Service) Funnel(ctx context.Context, pipelineID *int64) ([]FunnelStage, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return nil, err
	}
	pl, err := s.pipeline(ctx, p.OrgID, pipelineID)
	if err != nil {
		return nil, err
	}
	// The key names the stage order too: a reorder also drops the cache, this only keeps a
	// report of the old order from being served to a reader that already sees the new one.
	return cached(s, p.OrgID, "funnel:"+strconv.FormatInt(pl.ID, 10)+":"+strings.Join(pl.Keys(), ","), func() ([]FunnelStage, error) {
		rows, err := s.store.totals(ctx, p.OrgID)
		if err != nil {
			return nil, err
		}
		rows = slices.DeleteFunc(rows, func(r totalsRow) bool { return r.PipelineID != pl.ID })
		paths, err := s.store.paths(ctx, p.OrgID, pl.ID)
		if err != nil {
			return nil, err
		}
		return pipelineFunnel(pl.Keys(), rows, furthest(pl.Keys(), paths)), nil
	})
}

// pipeline is the organization's pipeline id, its default pipeline when id is nil.
func (s *Service) pipeline(ctx context.Context, orgID int64, id *int64) (pipelinesapi.Pipeline, error) {
	if id == nil {
		return s.pipelines.Default(ctx, orgID)
	}
	return s.pipelines.Pipeline(ctx, orgID, *id)
}

// Forecast returns the current organization's forecast of months months from from (nil:
// the current month in the organization's time zone), of one pipeline or, without
// pipelineID, of every pipeline.
func (s *Service) Forecast(ctx context.Context, pipelineID *int64, from *Month, months int) (Forecast, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Forecast{}, err
	}
	o, err := s.orgs.Organization(ctx, p.OrgID)
	if err != nil {
		return Forecast{}, err
	}
	loc := o.Location()
	key := "forecast:" + loc.String() + ":" + strconv.Itoa(months)
	if pipelineID != nil {
		if _, err := s.pipelines.Pipeline(ctx, p.OrgID, *pipelineID); err != nil {
			return Forecast{}, err
		}
		key += ":" + strconv.FormatInt(*pipelineID, 10)
	}
	start := monthOf(s.now(), loc)
	if from != nil {
		start = *from
	}
	key += ":" + start.String()
	return cached(s, p.OrgID, key, func() (Forecast, error) {
		return s.forecast(ctx, p.OrgID, pipelineID, loc, start, months)
	})
}

// forecast computes the forecast from the read model: the open deals by month weighted with
// the stage probabilities as they are now, and the won deals by UTC day. A UTC day that a
// month boundary of loc cuts (none for UTC) is counted from the deals instead.
func (s *Service) forecast(ctx context.Context, orgID int64, pipelineID *int64, loc *time.Location, start Month, months int) (Forecast, error) {
	end := start.next(months)
	rows, err := s.store.open(ctx, orgID, pipelineID, start.Time, end.Time)
	if err != nil {
		return Forecast{}, err
	}
	var pls []pipelinesapi.Pipeline
	if pipelineID != nil {
		pl, err := s.pipelines.Pipeline(ctx, orgID, *pipelineID)
		if err != nil {
			return Forecast{}, err
		}
		pls = []pipelinesapi.Pipeline{pl}
	} else if pls, err = s.pipelines.Pipelines(ctx, orgID); err != nil {
		return Forecast{}, err
	}
	open := weigh(rows, pls)

	local := func(m Month) time.Time { return time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, loc) }
	from, to := local(start), local(end)
	split := map[string]bool{}
	var ranges [][2]time.Time
	for i := 0; i <= months; i++ {
		b := local(start.next(i))
		if day := dayOf(b); !day.Equal(b) {
			split[day.Format(time.DateOnly)] = true
			ranges = append(ranges, [2]time.Time{maxTime(day, from), minTime(day.AddDate(0, 0, 1), to)})
		}
	}
	days, err := s.store.wonDays(ctx, orgID, pipelineID, dayOf(from), dayOf(to.Add(-time.Nanosecond)))
	if err != nil {
		return Forecast{}, err
	}
	var won []dealsapi.MonthTotals
	for _, d := range days {
		if split[d.Day.Format(time.DateOnly)] {
			continue
		}
		// A day no boundary cuts lies in one month of loc: that of its start.
		m := monthOf(time.Date(d.Day.Year(), d.Day.Month(), d.Day.Day(), 0, 0, 0, 0, time.UTC), loc).Time
		won = append(won, dealsapi.MonthTotals{Month: &m, Currency: d.Currency, Deals: d.Deals, Amount: d.Amount})
	}
	if len(ranges) > 0 {
		cut, err := s.deals.WonByMonth(ctx, orgID, pipelineID, loc, ranges)
		if err != nil {
			return Forecast{}, err
		}
		won = append(won, cut...)
	}
	return forecast(start, months, open, won), nil
}

// weigh turns the read model's open rows into totals per month and currency, AmountProb
// being Σ amount × effective probability: the override's product as stored, else the
// amount × the probability the deal's stage has now (0 for a stage the pipeline no longer has).
func weigh(rows []openRow, pls []pipelinesapi.Pipeline) []dealsapi.MonthTotals {
	prob := map[int64]map[string]int{}
	for _, pl := range pls {
		prob[pl.ID] = map[string]int{}
		for _, st := range pl.Stages {
			prob[pl.ID][st.Key] = st.Probability
		}
	}
	out := make([]dealsapi.MonthTotals, 0, len(rows))
	for _, r := range rows {
		ap := r.AmountProb
		if !r.Overridden {
			ap = times(r.Amount, prob[r.PipelineID][r.Stage])
		}
		out = append(out, dealsapi.MonthTotals{Month: r.Month, Currency: r.Currency, Deals: r.Deals, Amount: r.Amount, AmountProb: ap})
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Velocity returns the current organization's velocity report of a pipeline (the default
// one without pipelineID) over the last days days.
func (s *Service) Velocity(ctx context.Context, pipelineID *int64, days int) (Velocity, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Velocity{}, err
	}
	pl, err := s.pipeline(ctx, p.OrgID, pipelineID)
	if err != nil {
		return Velocity{}, err
	}
	key := "velocity:" + strconv.FormatInt(pl.ID, 10) + ":" + strconv.Itoa(days) + ":" + strings.Join(pl.Keys(), ",")
	return cached(s, p.OrgID, key, func() (Velocity, error) {
		since := s.now().Add(-time.Duration(days) * 24 * time.Hour)
		visits, err := s.deals.StageVisits(ctx, p.OrgID, pl.ID, since)
		if err != nil {
			return Velocity{}, err
		}
		// Whole UTC days after the window's first from the read model, the rest of the first
		// day from the deals.
		firstDayEnd := dayOf(since).AddDate(0, 0, 1)
		won, toWin, err := s.store.wonSince(ctx, p.OrgID, pl.ID, firstDayEnd)
		if err != nil {
			return Velocity{}, err
		}
		n, sum, err := s.deals.WonBetween(ctx, p.OrgID, pl.ID, since, firstDayEnd)
		if err != nil {
			return Velocity{}, err
		}
		return velocity(pl, visits, won+n, toWin.Add(toWin, sum)), nil
	})
}

// CacheTTL is how long a report is served from the cache; 0 when the cache is disabled.
func (s *Service) CacheTTL() time.Duration {
	if !s.cache.Enabled() {
		return 0
	}
	return s.cache.TTL()
}

// cached returns the organization's report under key from the cache or computes and stores
// it. A report computed while the organization's reports were invalidated is returned but not
// stored: it is stored under the version read before computing, which the drop made stale.
func cached[T any](s *Service, orgID int64, key string, compute func() (T, error)) (T, error) {
	if v, ok := s.cache.Get(orgID, key); ok {
		if r, ok := v.(T); ok {
			return r, nil
		}
	}
	ver := s.cache.Version(orgID)
	r, err := compute()
	if err != nil {
		return r, err
	}
	s.cache.SetAt(orgID, ver, key, r)
	return r, nil
}

// pipelineWritten drops the organization's cached reports on every replica once a change of
// its pipelines (a reorder changes a pipeline's funnel, a stage's probability its forecast)
// commits.
func (s *Service) pipelineWritten(ctx context.Context, e pipelinesapi.PipelineWritten) error {
	return s.cache.Invalidate(ctx, e.OrgID)
}

// dealsMoved drops the organization's cached reports on every replica once a contact merge
// that moved deals to the surviving contact commits: nothing counted changes, but every write
// coming from a merge invalidates the reports like a deal write.
func (s *Service) dealsMoved(ctx context.Context, e dealsapi.DealsMoved) error {
	return s.cache.Invalidate(ctx, e.OrgID)
}

// dealWritten applies a deal write to the read model, inside the write's transaction.
func (s *Service) dealWritten(ctx context.Context, e dealsapi.DealWritten) error {
	ts, cs, err := deltas(e)
	if err != nil {
		return err
	}
	more, err := moreDeltasOf(e)
	if err != nil {
		return err
	}
	if err := s.store.apply(ctx, e.OrgID, ts, cs); err != nil {
		return err
	}
	if err := s.store.applyMore(ctx, e.OrgID, more); err != nil {
		return err
	}
	// Every replica drops the organization's reports when this write commits.
	return s.cache.Invalidate(ctx, e.OrgID)
}
