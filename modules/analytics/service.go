package analytics

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/cache"
	"github.com/mini-crm/crm/platform/database"
)

// Deals is what this module uses of the deals facade: the deals created in the part of the
// window's first day that the daily counts cannot split.
type Deals interface {
	CountCreatedBetween(ctx context.Context, orgID int64, from, to time.Time) (int64, error)
	CountCreatedInPipelineBetween(ctx context.Context, orgID, pipelineID int64, from, to time.Time) (int64, error)
	FurthestStageCounts(ctx context.Context, orgID, pipelineID int64, keys []string) (map[int]int64, error)
}

// Pipelines is what this module uses of the pipelines facade: whether a pipeline named in a
// query is one of the organization's.
type Pipelines interface {
	Pipeline(ctx context.Context, orgID, id int64) (pipelinesapi.Pipeline, error)
}

// Service computes the reports from the read model and keeps the read model in step with
// deal writes.
type Service struct {
	db        *database.DB
	store     store
	deals     Deals
	pipelines Pipelines
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

// Funnel returns the current organization's funnel: of the part-1 stages over every deal
// without pipelineID (as in part 1), else of that pipeline's stages in their current order,
// reached computed from the stage history.
func (s *Service) Funnel(ctx context.Context, pipelineID *int64) ([]FunnelStage, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return nil, err
	}
	if pipelineID != nil {
		pl, err := s.pipelines.Pipeline(ctx, p.OrgID, *pipelineID)
		if err != nil {
			return nil, err
		}
		return cached(s, p.OrgID, "funnel:"+strconv.FormatInt(pl.ID, 10), func() ([]FunnelStage, error) {
			rows, err := s.store.totals(ctx, p.OrgID)
			if err != nil {
				return nil, err
			}
			rows = slices.DeleteFunc(rows, func(r totalsRow) bool { return r.PipelineID != pl.ID })
			furthest, err := s.deals.FurthestStageCounts(ctx, p.OrgID, pl.ID, pl.Keys())
			if err != nil {
				return nil, err
			}
			return pipelineFunnel(pl.Keys(), rows, furthest), nil
		})
	}
	return cached(s, p.OrgID, "funnel", func() ([]FunnelStage, error) {
		rows, err := s.store.totals(ctx, p.OrgID)
		if err != nil {
			return nil, err
		}
		return funnel(rows), nil
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
// its pipelines (a reorder changes a pipeline's funnel) commits.
func (s *Service) pipelineWritten(ctx context.Context, e pipelinesapi.PipelineWritten) error {
	return s.cache.Invalidate(ctx, e.OrgID)
}

// dealWritten applies a deal write to the read model, inside the write's transaction.
func (s *Service) dealWritten(ctx context.Context, e dealsapi.DealWritten) error {
	ts, cs, err := deltas(e)
	if err != nil {
		return err
	}
	if err := s.store.apply(ctx, e.OrgID, ts, cs); err != nil {
		return err
	}
	// Every replica drops the organization's reports when this write commits.
	return s.cache.Invalidate(ctx, e.OrgID)
}
