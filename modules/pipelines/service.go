package pipelines

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/cache"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/patch"
)

// Outbox is what this module uses of the change feed (platform/events.Outbox).
type Outbox interface {
	Record(ctx context.Context, c events.Change) (int64, error)
}

// Service implements the pipeline use cases and the pipelines facade.
type Service struct {
	db     *database.DB
	store  store
	outbox Outbox
	// deals and mover are provided by the module that keeps deals, when one does (see
	// pipelinesapi.DealCounter); nil means no deal references any pipeline.
	deals pipelinesapi.DealCounter
	mover pipelinesapi.StageMover
	// emit runs the handlers of PipelineWritten inside the write's transaction (kernel.Emit).
	emit func(ctx context.Context, e pipelinesapi.PipelineWritten) error
	// cache keeps what Default, Pipeline and Pipelines return, per organization (see New).
	cache *cache.Cache
}

var _ pipelinesapi.Pipelines = (*Service)(nil)

// writers are the roles that change pipelines: they are organization settings.
var writers = []auth.Role{auth.RoleOwner, auth.RoleAdmin}

// PipelinePatch is a partial update of a pipeline; nil fields stay as they are.
type PipelinePatch struct {
	Name      *string
	Position  *int
	IsDefault *bool
}

// StageInsert is a stage to add to a pipeline; Position nil puts it last.
type StageInsert struct {
	NewStage
	Position *int
}

// StagePatch is a partial update of a stage; nil fields (unset RottenDays) stay as they are,
// a null RottenDays clears it.
type StagePatch struct {
	Name        *string
	Probability *int
	RottenDays  patch.Optional[int]
	Position    *int
}

// written records the events of a pipeline write in the transaction of ctx and tells the
// module's listeners: typ with the pipeline as its GET renders it after the change (for a
// delete, its last state) and, for an update, before.
func (s *Service) written(ctx context.Context, orgID int64, typ string, after pipelinesapi.Pipeline, before *pipelinesapi.Pipeline) error {
	if s.emit != nil {
		if err := s.emit(ctx, pipelinesapi.PipelineWritten{OrgID: orgID, PipelineID: after.ID}); err != nil {
			return err
		}
	}
	if s.outbox == nil {
		return nil
	}
	c := events.Change{OrgID: orgID, Type: typ, Object: toJSON(after)}
	if before != nil {
		c.Before = toJSON(*before)
	}
	_, err := s.outbox.Record(ctx, c)
	return err
}

// load returns the pipelines of the rows with their stages.
func (s *Service) load(ctx context.Context, orgID int64, rows ...pipelineRow) ([]pipelinesapi.Pipeline, error) {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	stages, err := s.store.stagesOf(ctx, orgID, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]pipelinesapi.Pipeline, len(rows))
	for i, r := range rows {
		out[i] = r.pipeline(stages[r.ID])
	}
	return out, nil
}

// one returns the pipeline of the row with its stages.
func (s *Service) one(ctx context.Context, orgID int64, r pipelineRow) (pipelinesapi.Pipeline, error) {
	ps, err := s.load(ctx, orgID, r)
	if err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	return ps[0], nil
}

// reload reads the pipeline again after a write.
func (s *Service) reload(ctx context.Context, orgID, id int64) (pipelinesapi.Pipeline, error) {
	r, err := s.store.get(ctx, orgID, id, false)
	if err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	return s.one(ctx, orgID, r)
}

// List returns a page of the organization's pipelines, by position.
func (s *Service) List(ctx context.Context, w listing.Window) (listing.Result[pipelinesapi.Pipeline], error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return listing.Result[pipelinesapi.Pipeline]{}, err
	}
	rows, err := s.store.list(ctx, p.OrgID, w)
	if err != nil {
		return listing.Result[pipelinesapi.Pipeline]{}, err
	}
	items, err := s.load(ctx, p.OrgID, rows.Items...)
	if err != nil {
		return listing.Result[pipelinesapi.Pipeline]{}, err
	}
	return listing.Result[pipelinesapi.Pipeline]{Items: items, Total: rows.Total, NextCursor: rows.NextCursor, TotalCapped: rows.TotalCapped}, nil
}

// Get returns one pipeline of the organization.
func (s *Service) Get(ctx context.Context, id int64) (pipelinesapi.Pipeline, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	return s.Pipeline(ctx, p.OrgID, id)
}

// Create adds a pipeline after the organization's others (owner and admin).
func (s *Service) Create(ctx context.Context, in NewPipeline) (pipelinesapi.Pipeline, error) {
	p, err := auth.RequireRole(ctx, writers...)
	if err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	if err := in.check(); err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	var out pipelinesapi.Pipeline
	err = s.writing(ctx, p.OrgID, func(ctx context.Context) error {
		// The locks on every pipeline make concurrent creates take positions one after another.
		all, err := s.store.all(ctx, p.OrgID, true)
		if err != nil {
			return err
		}
		r, err := s.store.insertPipeline(ctx, p.OrgID, in.Name, len(all)+1, len(all) == 0)
		if err != nil {
			return err
		}
		rows := make([]newStageRow, len(in.Stages))
		for i, st := range in.Stages {
			rows[i] = st.row(i + 1)
		}
		if err := s.store.insertStages(ctx, p.OrgID, r.ID, rows); err != nil {
			return err
		}
		if out, err = s.one(ctx, p.OrgID, r); err != nil {
			return err
		}
		return s.written(ctx, p.OrgID, "pipeline.created", out, nil)
	})
	return out, err
}

// Update renames a pipeline, moves it (renumbering the others) or makes it the default
// (taking the flag from the previous default). A patch that changes nothing writes nothing.
// Every pipeline whose rendering changes (position, is_default) gets updated_at and an event.
func (s *Service) Update(ctx context.Context, id int64, in PipelinePatch) (pipelinesapi.Pipeline, error) {
	p, err := auth.RequireRole(ctx, writers...)
	if err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	var fields []apperr.FieldError
	if in.Name != nil {
		fields = append(fields, checkName("name", *in.Name)...)
	}
	if in.Position != nil {
		fields = append(fields, checkPosition("position", *in.Position)...)
	}
	if err := invalid(fields); err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	var out pipelinesapi.Pipeline
	err = s.writing(ctx, p.OrgID, func(ctx context.Context) error {
		all, err := s.store.all(ctx, p.OrgID, true)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(all, func(r pipelineRow) bool { return r.ID == id })
		if i < 0 {
			return pipelinesapi.ErrPipelineNotFound
		}
		cur := all[i]
		if in.IsDefault != nil && !*in.IsDefault && cur.IsDefault {
			return pipelinesapi.ErrDefaultPipeline
		}
		befores, err := s.load(ctx, p.OrgID, all...)
		if err != nil {
			return err
		}
		touched := map[int64]bool{}
		if in.Name != nil && *in.Name != cur.Name {
			if err := s.store.updatePipeline(ctx, p.OrgID, id, map[string]any{"name": *in.Name}); err != nil {
				return err
			}
			touched[id] = true
		}
		if in.IsDefault != nil && *in.IsDefault && !cur.IsDefault {
			// Two statements: the partial unique index is checked row by row, so the old
			// default gives the flag up before the new one takes it.
			for _, r := range all {
				if r.IsDefault {
					if err := s.store.updatePipeline(ctx, p.OrgID, r.ID, map[string]any{"is_default": false}); err != nil {
						return err
					}
					touched[r.ID] = true
				}
			}
			if err := s.store.updatePipeline(ctx, p.OrgID, id, map[string]any{"is_default": true}); err != nil {
				return err
			}
			touched[id] = true
		}
		if in.Position != nil {
			ids := make([]int64, len(all))
			for j, r := range all {
				ids[j] = r.ID
			}
			order := reorder(ids, id, *in.Position)
			for j, pid := range order {
				if all[slices.IndexFunc(all, func(r pipelineRow) bool { return r.ID == pid })].Position != j+1 {
					touched[pid] = true
				}
			}
			if err := s.store.setPipelinePositions(ctx, p.OrgID, order); err != nil {
				return err
			}
		}
		out = befores[i]
		if touched[id] {
			if out, err = s.reload(ctx, p.OrgID, id); err != nil {
				return err
			}
		}
		return s.recordTouched(ctx, p.OrgID, id, befores, touched)
	})
	return out, err
}

// recordTouched records pipeline.updated for every touched pipeline, first the one the
// request named.
func (s *Service) recordTouched(ctx context.Context, orgID, first int64, befores []pipelinesapi.Pipeline, touched map[int64]bool) error {
	ordered := slices.Clone(befores)
	slices.SortStableFunc(ordered, func(a, b pipelinesapi.Pipeline) int {
		switch {
		case a.ID == first && b.ID != first:
			return -1
		case b.ID == first && a.ID != first:
			return 1
		}
		return 0
	})
	for _, before := range ordered {
		if !touched[before.ID] {
			continue
		}
		after, err := s.reload(ctx, orgID, before.ID)
		if err != nil {
			return err
		}
		if err := s.written(ctx, orgID, "pipeline.updated", after, &before); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes a pipeline that is not the default and holds no deal, and renumbers the
// pipelines after it.
func (s *Service) Delete(ctx context.Context, id int64) error {
	p, err := auth.RequireRole(ctx, writers...)
	if err != nil {
		return err
	}
	err = s.writing(ctx, p.OrgID, func(ctx context.Context) error {
		all, err := s.store.all(ctx, p.OrgID, true)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(all, func(r pipelineRow) bool { return r.ID == id })
		if i < 0 {
			return pipelinesapi.ErrPipelineNotFound
		}
		if all[i].IsDefault {
			return pipelinesapi.ErrDefaultPipeline
		}
		if s.deals != nil {
			n, err := s.deals.CountDealsInPipeline(ctx, p.OrgID, id)
			if err != nil {
				return err
			}
			if n > 0 {
				return pipelineHasDeals(n)
			}
		}
		befores, err := s.load(ctx, p.OrgID, all...)
		if err != nil {
			return err
		}
		if err := s.store.deletePipeline(ctx, p.OrgID, id); err != nil {
			return err
		}
		var rest []int64
		touched := map[int64]bool{}
		for _, r := range all {
			if r.ID == id {
				continue
			}
			rest = append(rest, r.ID)
			if r.Position != len(rest) {
				touched[r.ID] = true
			}
		}
		if err := s.store.setPipelinePositions(ctx, p.OrgID, rest); err != nil {
			return err
		}
		if err := s.written(ctx, p.OrgID, "pipeline.deleted", befores[i], nil); err != nil {
			return err
		}
		return s.recordTouched(ctx, p.OrgID, 0, befores, touched)
	})
	if errors.Is(err, errReferenced) {
		// A deal written meanwhile references the pipeline; the transaction is over, so count
		// again to tell the client how many.
		if s.deals != nil {
			if n, cerr := s.deals.CountDealsInPipeline(ctx, p.OrgID, id); cerr == nil && n > 0 {
				return pipelineHasDeals(n)
			}
		}
		return pipelinesapi.ErrPipelineHasDeals
	}
	return err
}

// stageWrite runs fn on the pipeline locked (every stage write holds the pipeline's row lock,
// so two reorders of one pipeline never interleave), then, when fn changed something, bumps
// the pipeline's updated_at and records pipeline.updated with the whole pipeline.
func (s *Service) stageWrite(ctx context.Context, id int64, fn func(ctx context.Context, orgID int64, cur pipelinesapi.Pipeline) (bool, error)) (pipelinesapi.Pipeline, error) {
	p, err := auth.RequireRole(ctx, writers...)
	if err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	var out pipelinesapi.Pipeline
	err = s.writing(ctx, p.OrgID, func(ctx context.Context) error {
		r, err := s.store.get(ctx, p.OrgID, id, true)
		if err != nil {
			return err
		}
		before, err := s.one(ctx, p.OrgID, r)
		if err != nil {
			return err
		}
		changed, err := fn(ctx, p.OrgID, before)
		if err != nil {
			return err
		}
		if !changed {
			out = before
			return nil
		}
		if err := s.store.updatePipeline(ctx, p.OrgID, id, nil); err != nil {
			return err
		}
		if out, err = s.reload(ctx, p.OrgID, id); err != nil {
			return err
		}
		return s.written(ctx, p.OrgID, "pipeline.updated", out, &before)
	})
	return out, err
}

// AddStage adds a stage to a pipeline at in.Position (renumbering the stages from there on),
// or last, and returns the pipeline. A key the pipeline already has is 409 stage_key_taken.
func (s *Service) AddStage(ctx context.Context, pipelineID int64, in StageInsert) (pipelinesapi.Pipeline, error) {
	if _, err := auth.RequireRole(ctx, writers...); err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	fields := in.check("")
	if in.Position != nil {
		fields = append(fields, checkPosition("position", *in.Position)...)
	}
	if err := invalid(fields); err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	return s.stageWrite(ctx, pipelineID, func(ctx context.Context, orgID int64, cur pipelinesapi.Pipeline) (bool, error) {
		if _, taken := cur.StageByKey(in.Key); taken {
			return false, pipelinesapi.ErrStageKeyTaken
		}
		if len(cur.Stages) >= MaxStages {
			return false, pipelinesapi.ErrTooManyStages
		}
		pos := len(cur.Stages) + 1
		if in.Position != nil {
			pos = clamp(*in.Position, len(cur.Stages)+1)
		}
		if err := s.store.shiftStages(ctx, orgID, cur.ID, pos); err != nil {
			return false, err
		}
		return true, s.store.insertStages(ctx, orgID, cur.ID, []newStageRow{in.row(pos)})
	})
}

// UpdateStage changes a stage's name, probability, rotten days or position (renumbering the
// others) and returns the pipeline. A patch that changes nothing writes nothing.
func (s *Service) UpdateStage(ctx context.Context, pipelineID, stageID int64, in StagePatch) (pipelinesapi.Pipeline, error) {
	if _, err := auth.RequireRole(ctx, writers...); err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	var fields []apperr.FieldError
	if in.Name != nil {
		fields = append(fields, checkName("name", *in.Name)...)
	}
	if in.Probability != nil {
		fields = append(fields, checkProbability("probability", *in.Probability)...)
	}
	if v := in.RottenDays.Ptr(); v != nil {
		fields = append(fields, checkRottenDays("rotten_days", *v)...)
	}
	if in.Position != nil {
		fields = append(fields, checkPosition("position", *in.Position)...)
	}
	if err := invalid(fields); err != nil {
		return pipelinesapi.Pipeline{}, err
	}
	return s.stageWrite(ctx, pipelineID, func(ctx context.Context, orgID int64, cur pipelinesapi.Pipeline) (bool, error) {
		i := slices.IndexFunc(cur.Stages, func(st pipelinesapi.Stage) bool { return st.ID == stageID })
		if i < 0 {
			return false, pipelinesapi.ErrStageNotFound
		}
		st := cur.Stages[i]
		set := map[string]any{}
		if in.Name != nil && *in.Name != st.Name {
			set["name"] = *in.Name
		}
		if in.Probability != nil && *in.Probability != st.Probability {
			set["probability"] = *in.Probability
		}
		if in.RottenDays.Set && !equalPtr(in.RottenDays.Ptr(), st.RottenDays) {
			set["rotten_days"] = in.RottenDays.Ptr()
		}
		changed := false
		if len(set) > 0 {
			if err := s.store.updateStage(ctx, orgID, stageID, set); err != nil {
				return false, err
			}
			changed = true
		}
		if in.Position != nil && clamp(*in.Position, len(cur.Stages)) != st.Position {
			order := reorder(stageIDs(cur.Stages), stageID, *in.Position)
			if err := s.store.setStagePositions(ctx, orgID, cur.ID, order); err != nil {
				return false, err
			}
			changed = true
		}
		return changed, nil
	})
}

// DeleteStage removes a stage and renumbers the stages after it. Deals at the stage are
// moved to the stage moveTo first (a key of the same pipeline); without moveTo they make it
// a 409 stage_has_deals. The last stage of a pipeline stays (409 last_stage).
func (s *Service) DeleteStage(ctx context.Context, pipelineID, stageID int64, moveTo *string) error {
	_, err := s.stageWrite(ctx, pipelineID, func(ctx context.Context, orgID int64, cur pipelinesapi.Pipeline) (bool, error) {
		i := slices.IndexFunc(cur.Stages, func(st pipelinesapi.Stage) bool { return st.ID == stageID })
		if i < 0 {
			return false, pipelinesapi.ErrStageNotFound
		}
		if len(cur.Stages) == 1 {
			return false, pipelinesapi.ErrLastStage
		}
		st := cur.Stages[i]
		var others []string
		for _, o := range cur.Stages {
			if o.ID != stageID {
				others = append(others, o.Key)
			}
		}
		if moveTo != nil && !slices.Contains(others, *moveTo) {
			return false, pipelinesapi.UnknownStage("move_to", others)
		}
		var n int64
		if s.deals != nil {
			var err error
			if n, err = s.deals.CountDealsAtStage(ctx, orgID, cur.ID, st.Key); err != nil {
				return false, err
			}
		}
		switch {
		case moveTo != nil && s.mover != nil:
			if _, err := s.mover.MoveDealsBetweenStages(ctx, orgID, cur.ID, st.Key, *moveTo); err != nil {
				return false, err
			}
		case moveTo != nil && n > 0:
			return false, fmt.Errorf("pipelines: %d deals at stage %q and no StageMover to move them", n, st.Key)
		case n > 0:
			return false, stageHasDeals(n)
		}
		if err := s.store.deleteStage(ctx, orgID, cur.ID, stageID); err != nil {
			return false, err
		}
		rest := slices.DeleteFunc(stageIDs(cur.Stages), func(id int64) bool { return id == stageID })
		return true, s.store.setStagePositions(ctx, orgID, cur.ID, rest)
	})
	if errors.Is(err, errReferenced) {
		return pipelinesapi.ErrStageHasDeals
	}
	return err
}

func stageIDs(stages []pipelinesapi.Stage) []int64 {
	out := make([]int64, len(stages))
	for i, st := range stages {
		out[i] = st.ID
	}
	return out
}

func equalPtr(a, b *int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// organizationCreated gives a new organization its default pipeline, in the transaction that
// creates the organization (orgsapi.OrganizationCreated), under that organization's tenant.
// It records no pipeline.created: the default pipeline is part of what an organization is
// from its start (as for the organizations the migration gave it to), and the feed of a new
// organization begins with its owner's member.added.
func (s *Service) organizationCreated(ctx context.Context, e orgsapi.OrganizationCreated) error {
	if err := s.invalidate(ctx, e.OrgID); err != nil {
		return err
	}
	id, err := s.store.createDefault(ctx, e.OrgID)
	if err != nil {
		return err
	}
	if s.emit == nil {
		return nil
	}
	return s.emit(ctx, pipelinesapi.PipelineWritten{OrgID: e.OrgID, PipelineID: id})
}

// writing runs fn in a transaction that first invalidates the organization's cached
// pipelines: every replica drops them when it commits, and reads inside it go past the cache.
func (s *Service) writing(ctx context.Context, orgID int64, fn func(ctx context.Context) error) error {
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.invalidate(ctx, orgID); err != nil {
			return err
		}
		return fn(ctx)
	})
}

func (s *Service) invalidate(ctx context.Context, orgID int64) error {
	if s.cache == nil {
		return nil
	}
	return s.cache.Invalidate(ctx, orgID)
}

// cached returns the value under key, read by load on a miss and kept unless the read is
// a pipeline write's own (see writing) or an error. A kept value is shared by every later
// caller in the process, its Stages slices included: callers read it and never change it.
func cached[T any](ctx context.Context, s *Service, orgID int64, key string, load func() (T, error)) (T, error) {
	if s.cache == nil || s.cache.InvalidatedIn(ctx, orgID) {
		return load()
	}
	if v, ok := s.cache.Get(orgID, key); ok {
		return v.(T), nil
	}
	ver := s.cache.Version(orgID)
	v, err := load()
	if err == nil {
		s.cache.SetAt(orgID, ver, key, v)
	}
	return v, err
}

// Default implements pipelinesapi.Pipelines.
func (s *Service) Default(ctx context.Context, orgID int64) (pipelinesapi.Pipeline, error) {
	return cached(ctx, s, orgID, "default", func() (pipelinesapi.Pipeline, error) {
		r, err := s.store.defaultOf(ctx, orgID)
		if err != nil {
			return pipelinesapi.Pipeline{}, err
		}
		return s.one(ctx, orgID, r)
	})
}

// Pipeline implements pipelinesapi.Pipelines. An unknown id is asked about again every
// time: only pipelines found are kept.
func (s *Service) Pipeline(ctx context.Context, orgID, id int64) (pipelinesapi.Pipeline, error) {
	return cached(ctx, s, orgID, "id:"+strconv.FormatInt(id, 10), func() (pipelinesapi.Pipeline, error) {
		r, err := s.store.get(ctx, orgID, id, false)
		if err != nil {
			return pipelinesapi.Pipeline{}, err
		}
		return s.one(ctx, orgID, r)
	})
}

// Pipelines implements pipelinesapi.Pipelines.
func (s *Service) Pipelines(ctx context.Context, orgID int64) ([]pipelinesapi.Pipeline, error) {
	return cached(ctx, s, orgID, "all", func() ([]pipelinesapi.Pipeline, error) {
		rows, err := s.store.all(ctx, orgID, false)
		if err != nil {
			return nil, err
		}
		return s.load(ctx, orgID, rows...)
	})
}
