package seed

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Pipelines and stage history, so that the pipeline reports (funnel, forecast, velocity)
// have something to show: organizations with at least minPipelineDeals deals get two
// pipelines beside the default one, with the stage keys of part 1 (so every generated
// stage fits) and probabilities of their own, and a share of their deals is put on them by
// a hash of the deal id. After the deals are copied, every deal's stage history is filled
// in: it went through the stages up to its furthest one in order (and back to its stage
// when that is an earlier one), the visits splitting its life from created_at to
// updated_at evenly; the last visit is the one the deals' trigger made.

const minPipelineDeals = 100

// extraPipelines are the pipelines beside the default one; share is the percentage of the
// organization's deals on each.
var extraPipelines = []struct {
	name  string
	probs [4]int
	share uint64
}{
	{"Renewals", [4]int{20, 50, 80, 100}, 20},
	{"Partners", [4]int{5, 15, 40, 100}, 10},
}

// createPipelines gives every organization its default pipeline and the large ones the
// extra pipelines; it returns the pipelines of each organization, the default one first.
func createPipelines(ctx context.Context, pool *pgxpool.Pool, p *plan) (map[int64][]int64, error) {
	out := make(map[int64][]int64, len(p.orgs))
	for _, o := range p.orgs {
		var def int64
		if err := pool.QueryRow(ctx, "SELECT coalesce(pipelines_default_id($1), pipelines_create_default($1))", o.id).Scan(&def); err != nil {
			return nil, fmt.Errorf("default pipeline of %d: %w", o.id, err)
		}
		out[o.id] = []int64{def}
		if o.deals < minPipelineDeals {
			continue
		}
		for i, pl := range extraPipelines {
			var id int64
			if err := pool.QueryRow(ctx, `INSERT INTO pipelines (organization_id, name, position, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $4) RETURNING id`, o.id, pl.name, i+2, ts(o.created)).Scan(&id); err != nil {
				return nil, fmt.Errorf("pipeline %s of %d: %w", pl.name, o.id, err)
			}
			for pos, key := range stages {
				if _, err := pool.Exec(ctx, `INSERT INTO pipeline_stages (organization_id, pipeline_id, key, name, position, probability)
					VALUES ($1, $2, $3, $4, $5, $6)`, o.id, id, key, stageNames[pos], pos+1, pl.probs[pos]); err != nil {
					return nil, fmt.Errorf("stage %s of %s: %w", key, pl.name, err)
				}
			}
			out[o.id] = append(out[o.id], id)
		}
	}
	return out, nil
}

var stageNames = []string{"Qualification", "Proposal", "Negotiation", "Closed"}

// pipelineOf is the pipeline a deal goes on: an extra one for its share of the deals of an
// organization that has them, else the default one.
func (w writer) pipelineOf(o *orgPlan, id int64) int64 {
	pls := w.pipelines[o.id]
	r := w.h(hDealForecast, id) >> 40 % 100
	var upTo uint64
	for i, pl := range extraPipelines {
		upTo += pl.share
		if r < upTo && i+1 < len(pls) {
			return pls[i+1]
		}
	}
	return pls[0]
}

// fillHistorySQL builds each deal's stage history from its only visit so far (the one
// the insert trigger made, from created_at): with k visits (its furthest stage's position,
// one more when it went back), visit v covers the v-th k-th of created_at..updated_at, the
// last one (the trigger's) starting at the k-1-th and ending as it did (at closed_at for a
// closed deal).
const fillHistorySQL = `
WITH d AS (
    SELECT organization_id, id, pipeline_id, created_at, updated_at, max_stage AS m,
           array_position(ARRAY['qualification', 'proposal', 'negotiation', 'closed'], stage) AS s
    FROM deals),
k AS (
    SELECT d.*, d.m + CASE WHEN d.s < d.m THEN 1 ELSE 0 END AS k FROM d),
moved AS (
    UPDATE deals x SET stage_entered_at = k.created_at + (k.updated_at - k.created_at) * ((k.k - 1)::float8 / k.k)
    FROM k WHERE k.k > 1 AND x.organization_id = k.organization_id AND x.id = k.id
    RETURNING x.organization_id, x.id, x.stage_entered_at),
last AS (
    UPDATE deal_stage_history h SET entered_at = moved.stage_entered_at,
           left_at = CASE WHEN h.left_at IS NOT NULL THEN greatest(h.left_at, moved.stage_entered_at) END
    FROM moved WHERE h.organization_id = moved.organization_id AND h.deal_id = moved.id)
INSERT INTO deal_stage_history (organization_id, deal_id, pipeline_id, stage, entered_at, left_at)
SELECT k.organization_id, k.id, k.pipeline_id, (ARRAY['qualification', 'proposal', 'negotiation', 'closed'])[v],
       k.created_at + (k.updated_at - k.created_at) * ((v - 1)::float8 / k.k),
       k.created_at + (k.updated_at - k.created_at) * (v::float8 / k.k)
FROM k, generate_series(1, k.k - 1) AS v
WHERE k.k > 1`

// fillHistory runs fillHistorySQL; it is one statement, so it commits or fails whole.
func fillHistory(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	tag, err := pool.Exec(ctx, fillHistorySQL)
	if err != nil {
		return 0, fmt.Errorf("stage history: %w", err)
	}
	return tag.RowsAffected(), nil
}
