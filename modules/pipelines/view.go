package pipelines

import (
	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/platform/web"
)

// pipelineJSON is a pipeline as GET /pipelines/{id} renders it; the pipeline.* events carry
// the same rendering.
type pipelineJSON struct {
	ID        int64       `json:"id"`
	Name      string      `json:"name"`
	Position  int         `json:"position"`
	IsDefault bool        `json:"is_default"`
	Stages    []stageJSON `json:"stages"`
	CreatedAt web.Time    `json:"created_at"`
	UpdatedAt web.Time    `json:"updated_at"`
}

type stageJSON struct {
	ID          int64  `json:"id"`
	Key         string `json:"key"`
	Name        string `json:"name"`
	Position    int    `json:"position"`
	Probability int    `json:"probability"`
	RottenDays  *int   `json:"rotten_days"`
}

func toJSON(p pipelinesapi.Pipeline) pipelineJSON {
	out := pipelineJSON{ID: p.ID, Name: p.Name, Position: p.Position, IsDefault: p.IsDefault,
		Stages: make([]stageJSON, len(p.Stages)), CreatedAt: web.Time(p.CreatedAt), UpdatedAt: web.Time(p.UpdatedAt)}
	for i, s := range p.Stages {
		out.Stages[i] = stageJSON{ID: s.ID, Key: s.Key, Name: s.Name, Position: s.Position, Probability: s.Probability,
			RottenDays: s.RottenDays}
	}
	return out
}
