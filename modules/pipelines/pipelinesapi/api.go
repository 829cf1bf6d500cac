// Package pipelinesapi is the public contract of the pipelines module: the pipelines of an
// organization and their ordered stages, which deals move through.
//
// The module also defines what it needs of deals without depending on the deals module:
// DealCounter (how many deals a pipeline or a stage holds, asked before a delete) and
// StageMover (moving deals off a stage that is being deleted). Both are optional: the module
// resolves them from the kernel when some module provides them and otherwise behaves as if
// no deal referenced any pipeline, which is exactly the case while deals keep their own
// fixed pipeline.
package pipelinesapi

import (
	"context"
	"strings"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
)

// Stage is one step of a pipeline. Key is unique within the pipeline and never changes;
// Position runs from 1 in the pipeline's order.
type Stage struct {
	ID          int64
	Key         string
	Name        string
	Position    int
	Probability int  // 0..100
	RottenDays  *int // nil, or 1..3650
}

// Pipeline is a pipeline with its stages in order (at least one).
type Pipeline struct {
	ID        int64
	Name      string
	Position  int
	IsDefault bool
	Stages    []Stage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// StageByKey returns the stage with the key; ok is false when the pipeline has none.
func (p Pipeline) StageByKey(key string) (Stage, bool) {
	for _, s := range p.Stages {
		if s.Key == key {
			return s, true
		}
	}
	return Stage{}, false
}

// First returns the first stage (the zero Stage for a pipeline without stages, which the
// module never returns).
func (p Pipeline) First() Stage {
	if len(p.Stages) == 0 {
		return Stage{}
	}
	return p.Stages[0]
}

// Keys returns the stage keys in order.
func (p Pipeline) Keys() []string {
	out := make([]string, len(p.Stages))
	for i, s := range p.Stages {
		out[i] = s.Key
	}
	return out
}

// Pipelines is the facade of the pipelines module. Its methods read under the tenant scope
// of ctx, like every facade.
type Pipelines interface {
	// Default returns the organization's default pipeline.
	Default(ctx context.Context, orgID int64) (Pipeline, error)
	// Pipeline returns one pipeline of the organization, ErrPipelineNotFound when it has none
	// with that id.
	Pipeline(ctx context.Context, orgID, id int64) (Pipeline, error)
	// Pipelines returns every pipeline of the organization in order.
	Pipelines(ctx context.Context, orgID int64) ([]Pipeline, error)
}

// DealCounter counts the deals of a pipeline and of one of its stages. The pipelines module
// asks it, inside its transaction, before deleting a pipeline or a stage. The deals module is
// to provide it; while no module does, every count is zero.
type DealCounter interface {
	CountDealsInPipeline(ctx context.Context, orgID, pipelineID int64) (int64, error)
	CountDealsAtStage(ctx context.Context, orgID, pipelineID int64, stageKey string) (int64, error)
}

// StageMover moves every deal of a pipeline at stage from to stage to, inside the
// transaction of ctx (the delete of stage from with ?move_to=to), and returns how many it
// moved. The deals module is to provide it, recording each move on the deal's timeline.
type StageMover interface {
	MoveDealsBetweenStages(ctx context.Context, orgID, pipelineID int64, from, to string) (int64, error)
}

// PipelineWritten is emitted with kernel.Emit inside the transaction of every write to a
// pipeline or its stages (create, update, reorder, delete). Handlers run in that transaction
// and their error fails the write; what is derived from stages (analytics) can follow them.
type PipelineWritten struct {
	OrgID, PipelineID int64
}

// Errors of the module.
var (
	ErrPipelineNotFound  = apperr.NotFound("pipeline_not_found", "no pipeline with this id exists in the organization")
	ErrStageNotFound     = apperr.NotFound("stage_not_found", "no stage with this id exists in the pipeline")
	ErrPipelineNameTaken = apperr.Conflict("pipeline_name_taken", "the organization already has a pipeline with this name")
	ErrDefaultPipeline   = apperr.Conflict("default_pipeline",
		"the default pipeline cannot be deleted or stop being the default; make another pipeline the default first")
	ErrPipelineHasDeals = apperr.Conflict("pipeline_has_deals", "the pipeline still has deals; move or delete them first")
	ErrStageHasDeals    = apperr.Conflict("stage_has_deals",
		"deals are at this stage; delete it with ?move_to=<stage key> to move them to another stage first")
	ErrLastStage     = apperr.Conflict("last_stage", "a pipeline keeps at least one stage; this is its last")
	ErrStageKeyTaken = apperr.Conflict("stage_key_taken", "the pipeline already has a stage with this key; keys never change, pick another")
	ErrTooManyStages = apperr.Conflict("too_many_stages", "a pipeline has at most 50 stages; delete one first")
	// ErrUnknownStage is the 400 for a stage key that is not one of the pipeline's; see
	// UnknownStage for the error naming the field and the allowed keys.
	ErrUnknownStage = apperr.Invalid("unknown_stage", "the stage is not a stage of the pipeline")
)

// UnknownStage is ErrUnknownStage about field, its detail listing the keys allowed there.
func UnknownStage(field string, allowed []string) *apperr.Error {
	msg := "must be one of the stage keys: " + strings.Join(allowed, ", ")
	e := ErrUnknownStage.WithDetail(field + " " + msg)
	e.Fields = []apperr.FieldError{{Field: field, Message: msg}}
	return e
}
