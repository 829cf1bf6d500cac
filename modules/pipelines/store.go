package pipelines

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/platform/database"
)

type pipelineRow struct {
	OrganizationID int64     `db:"organization_id"`
	ID             int64     `db:"id"`
	Name           string    `db:"name"`
	Position       int       `db:"position"`
	IsDefault      bool      `db:"is_default"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

type stageRow struct {
	PipelineID  int64  `db:"pipeline_id"`
	ID          int64  `db:"id"`
	Key         string `db:"key"`
	Name        string `db:"name"`
	Position    int    `db:"position"`
	Probability int    `db:"probability"`
	RottenDays  *int   `db:"rotten_days"`
}

func (r stageRow) stage() pipelinesapi.Stage {
	return pipelinesapi.Stage{ID: r.ID, Key: r.Key, Name: r.Name, Position: r.Position, Probability: r.Probability,
		RottenDays: r.RottenDays}
}

func (r pipelineRow) pipeline(stages []stageRow) pipelinesapi.Pipeline {
	out := pipelinesapi.Pipeline{ID: r.ID, Name: r.Name, Position: r.Position, IsDefault: r.IsDefault,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Stages: make([]pipelinesapi.Stage, len(stages))}
	for i, s := range stages {
		out.Stages[i] = s.stage()
	}
	return out
}

var (
	pipelineCols = []string{"organization_id", "id", "name", "position", "is_default", "created_at", "updated_at"}
	stageCols    = []string{"pipeline_id", "id", "key", "name", "position", "probability", "rotten_days"}
)

// store holds the pipelines and pipeline_stages tables. Every method filters by the
// organization it is given.
type store struct{ db *database.DB }

// mapWriteError turns the constraints a client can run into into the module's errors.
func mapWriteError(err error) error {
	switch database.PgCode(err) {
	case database.CodeUniqueViolation:
		switch database.Constraint(err) {
		case "pipelines_name_key":
			return pipelinesapi.ErrPipelineNameTaken.Wrap(err)
		case "pipeline_stages_key_key":
			return pipelinesapi.ErrStageKeyTaken.Wrap(err)
		}
	case database.CodeForeignKeyViolation:
		// A table of another module references the row (deals, once they name pipelines): the
		// count asked before the delete missed a deal written meanwhile.
		return errReferenced
	}
	return err
}

// errReferenced marks a delete refused by another table's foreign key; the service turns it
// into the conflict of what it deleted.
var errReferenced = errors.New("pipelines: row is referenced")

// createDefault creates the organization's default pipeline (SQL function of this module's
// migrations, shared with the backfill of existing organizations) and returns its id.
func (s store) createDefault(ctx context.Context, orgID int64) (int64, error) {
	id, err := database.Scalar[int64](ctx, s.db.Q(ctx), sq.Expr("SELECT pipelines_create_default($1)", orgID))
	if err != nil {
		return 0, fmt.Errorf("create default pipeline: %w", err)
	}
	return id, nil
}

// get returns one pipeline; lock takes its row lock, which every write of its stages holds.
// FOR NO KEY UPDATE serializes those writes without blocking the foreign-key checks of rows
// that reference the pipeline.
func (s store) get(ctx context.Context, orgID, id int64, lock bool) (pipelineRow, error) {
	q := database.SQL.Select(pipelineCols...).From("pipelines").Where(sq.Eq{"organization_id": orgID, "id": id})
	if lock {
		q = q.Suffix("FOR NO KEY UPDATE")
	}
	r, err := database.Get[pipelineRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, pipelinesapi.ErrPipelineNotFound
	}
	if err != nil {
		return r, fmt.Errorf("get pipeline: %w", err)
	}
	return r, nil
}

// defaultOf returns the organization's default pipeline.
func (s store) defaultOf(ctx context.Context, orgID int64) (pipelineRow, error) {
	q := database.SQL.Select(pipelineCols...).From("pipelines").Where(sq.Eq{"organization_id": orgID, "is_default": true})
	r, err := database.Get[pipelineRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, pipelinesapi.ErrPipelineNotFound
	}
	if err != nil {
		return r, fmt.Errorf("default pipeline: %w", err)
	}
	return r, nil
}

// all returns every pipeline of the organization by position; lock takes every row lock, in
// id order, which the writes that renumber or move the default flag hold.
func (s store) all(ctx context.Context, orgID int64, lock bool) ([]pipelineRow, error) {
	q := database.SQL.Select(pipelineCols...).From("pipelines").Where(sq.Eq{"organization_id": orgID})
	if lock {
		q = q.OrderBy("id").Suffix("FOR NO KEY UPDATE")
	} else {
		q = q.OrderBy("position", "id")
	}
	rows, err := database.Select[pipelineRow](ctx, s.db.Q(ctx), q)
	if err != nil {
		return nil, fmt.Errorf("pipelines: %w", err)
	}
	slices.SortFunc(rows, func(a, b pipelineRow) int {
		if a.Position != b.Position {
			return a.Position - b.Position
		}
		return int(a.ID - b.ID)
	})
	return rows, nil
}

// listOrder is by position; the index pipelines (organization_id, position, id) serves it.
var listOrder = database.Order{Key: "pipelines:position:asc",
	Cols: []database.KeyCol{{Expr: "position", Type: "bigint"}, {Expr: "id", Type: "bigint"}}}

func (s store) list(ctx context.Context, orgID int64, w database.Window) (database.Result[pipelineRow], error) {
	where := sq.Eq{"organization_id": orgID}
	res, err := database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select(pipelineCols...).From("pipelines").Where(where),
		database.SQL.Select("count(*)").From("pipelines").Where(where),
		listOrder, w.Unfiltered(), func(r pipelineRow) []string { return []string{fmt.Sprint(r.Position), database.IDKey(r.ID)} })
	if err != nil {
		return res, fmt.Errorf("pipelines: %w", err)
	}
	return res, nil
}

// stagesOf returns the stages of the pipelines, each pipeline's in order.
func (s store) stagesOf(ctx context.Context, orgID int64, pipelineIDs ...int64) (map[int64][]stageRow, error) {
	out := map[int64][]stageRow{}
	if len(pipelineIDs) == 0 {
		return out, nil
	}
	q := database.SQL.Select(stageCols...).From("pipeline_stages").
		Where(sq.Eq{"organization_id": orgID, "pipeline_id": pipelineIDs}).OrderBy("pipeline_id", "position")
	rows, err := database.Select[stageRow](ctx, s.db.Q(ctx), q)
	if err != nil {
		return nil, fmt.Errorf("stages: %w", err)
	}
	for _, r := range rows {
		out[r.PipelineID] = append(out[r.PipelineID], r)
	}
	return out, nil
}

func (s store) insertPipeline(ctx context.Context, orgID int64, name string, position int, isDefault bool) (pipelineRow, error) {
	q := database.SQL.Insert("pipelines").Columns("organization_id", "name", "position", "is_default").
		Values(orgID, name, position, isDefault).Suffix("RETURNING " + strings.Join(pipelineCols, ", "))
	r, err := database.Get[pipelineRow](ctx, s.db.Q(ctx), q)
	if err != nil {
		return r, fmt.Errorf("insert pipeline: %w", mapWriteError(err))
	}
	return r, nil
}

// newStageRow is a stage to insert at a position.
type newStageRow struct {
	Key         string
	Name        string
	Position    int
	Probability int
	RottenDays  *int
}

func (s store) insertStages(ctx context.Context, orgID, pipelineID int64, stages []newStageRow) error {
	q := database.SQL.Insert("pipeline_stages").
		Columns("organization_id", "pipeline_id", "key", "name", "position", "probability", "rotten_days")
	for _, st := range stages {
		q = q.Values(orgID, pipelineID, st.Key, st.Name, st.Position, st.Probability, st.RottenDays)
	}
	if _, err := database.Exec(ctx, s.db.Q(ctx), q); err != nil {
		return fmt.Errorf("insert stages: %w", mapWriteError(err))
	}
	return nil
}

// updatePipeline writes the given columns and bumps updated_at to the time of the write (the
// transaction may have waited for the row lock); an empty set only bumps updated_at, for a
// change of the pipeline's stages.
func (s store) updatePipeline(ctx context.Context, orgID, id int64, set map[string]any) error {
	q := database.SQL.Update("pipelines").SetMap(set).Set("updated_at", sq.Expr("clock_timestamp()")).
		Where(sq.Eq{"organization_id": orgID, "id": id})
	n, err := database.Exec(ctx, s.db.Q(ctx), q)
	if err != nil {
		return fmt.Errorf("update pipeline: %w", mapWriteError(err))
	}
	if n == 0 {
		return pipelinesapi.ErrPipelineNotFound
	}
	return nil
}

// setPipelinePositions numbers the pipelines 1..n in the order of ids, writing (and bumping
// updated_at of) only those whose position changes.
func (s store) setPipelinePositions(ctx context.Context, orgID int64, ids []int64) error {
	_, err := s.db.Q(ctx).Exec(ctx, `UPDATE pipelines p SET position = v.pos, updated_at = clock_timestamp()
		FROM unnest($2::bigint[]) WITH ORDINALITY AS v(id, pos)
		WHERE p.organization_id = $1 AND p.id = v.id AND p.position <> v.pos`, orgID, ids)
	if err != nil {
		return fmt.Errorf("renumber pipelines: %w", database.MapError(err))
	}
	return nil
}

func (s store) deletePipeline(ctx context.Context, orgID, id int64) error {
	n, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("pipelines").Where(sq.Eq{"organization_id": orgID, "id": id}))
	if err != nil {
		return fmt.Errorf("delete pipeline: %w", mapWriteError(err))
	}
	if n == 0 {
		return pipelinesapi.ErrPipelineNotFound
	}
	return nil
}

// shiftStages moves the stages of the pipeline at position from on one place down, to make
// room for a stage inserted at from.
func (s store) shiftStages(ctx context.Context, orgID, pipelineID int64, from int) error {
	q := database.SQL.Update("pipeline_stages").Set("position", sq.Expr("position + 1")).
		Where(sq.Eq{"organization_id": orgID, "pipeline_id": pipelineID}).Where(sq.GtOrEq{"position": from})
	if _, err := database.Exec(ctx, s.db.Q(ctx), q); err != nil {
		return fmt.Errorf("shift stages: %w", err)
	}
	return nil
}

func (s store) updateStage(ctx context.Context, orgID, id int64, set map[string]any) error {
	q := database.SQL.Update("pipeline_stages").SetMap(set).Where(sq.Eq{"organization_id": orgID, "id": id})
	n, err := database.Exec(ctx, s.db.Q(ctx), q)
	if err != nil {
		return fmt.Errorf("update stage: %w", mapWriteError(err))
	}
	if n == 0 {
		return pipelinesapi.ErrStageNotFound
	}
	return nil
}

// setStagePositions numbers the pipeline's stages 1..n in the order of ids, writing only
// those whose position changes.
func (s store) setStagePositions(ctx context.Context, orgID, pipelineID int64, ids []int64) error {
	_, err := s.db.Q(ctx).Exec(ctx, `UPDATE pipeline_stages s SET position = v.pos
		FROM unnest($3::bigint[]) WITH ORDINALITY AS v(id, pos)
		WHERE s.organization_id = $1 AND s.pipeline_id = $2 AND s.id = v.id AND s.position <> v.pos`, orgID, pipelineID, ids)
	if err != nil {
		return fmt.Errorf("renumber stages: %w", database.MapError(err))
	}
	return nil
}

func (s store) deleteStage(ctx context.Context, orgID, pipelineID, id int64) error {
	n, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("pipeline_stages").
		Where(sq.Eq{"organization_id": orgID, "pipeline_id": pipelineID, "id": id}))
	if err != nil {
		return fmt.Errorf("delete stage: %w", mapWriteError(err))
	}
	if n == 0 {
		return pipelinesapi.ErrStageNotFound
	}
	return nil
}
