package pipelines

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

func (h handler) list(c *fiber.Ctx) error {
	page, err := web.PageFrom(c)
	if err != nil {
		return err
	}
	res, err := h.svc.List(c.UserContext(), page.Window())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(res, page, toJSON))
}

// stageRequest is a stage of a create body. Values are checked by the service (rules.go),
// which names each field by its place in the body (stages[2].key).
type stageRequest struct {
	Key         string  `json:"key"`
	Name        *string `json:"name"`
	Probability *int    `json:"probability"`
	RottenDays  *int    `json:"rotten_days"`
}

func (r stageRequest) stage() NewStage {
	return NewStage(r)
}

type createRequest struct {
	Name   string         `json:"name" trim:"true"`
	Stages []stageRequest `json:"stages"`
}

func location(c *fiber.Ctx, id int64) {
	c.Location("/api/v1/pipelines/" + strconv.FormatInt(id, 10))
}

func (h handler) create(c *fiber.Ctx) error {
	var req createRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	in := NewPipeline{Name: req.Name, Stages: make([]NewStage, len(req.Stages))}
	for i, st := range req.Stages {
		in.Stages[i] = st.stage()
	}
	p, err := h.svc.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	location(c, p.ID)
	return c.Status(fiber.StatusCreated).JSON(toJSON(p))
}

func (h handler) get(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	p, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(p))
}

// updateRequest is a PATCH of a pipeline: none of its fields can be null.
type updateRequest struct {
	Name      patch.Optional[string] `json:"name" trim:"true" patch:"nonnull"`
	Position  patch.Optional[int]    `json:"position" patch:"nonnull"`
	IsDefault patch.Optional[bool]   `json:"is_default" patch:"nonnull"`
}

func (h handler) update(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	var req updateRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	p, err := h.svc.Update(c.UserContext(), id, PipelinePatch{Name: req.Name.Ptr(), Position: req.Position.Ptr(), IsDefault: req.IsDefault.Ptr()})
	if err != nil {
		return err
	}
	return c.JSON(toJSON(p))
}

func (h handler) delete(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type addStageRequest struct {
	Key         string  `json:"key"`
	Name        *string `json:"name" trim:"true"`
	Probability *int    `json:"probability"`
	RottenDays  *int    `json:"rotten_days"`
	Position    *int    `json:"position"`
}

func (h handler) addStage(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	var req addStageRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	p, err := h.svc.AddStage(c.UserContext(), id, StageInsert{
		NewStage: NewStage{Key: req.Key, Name: req.Name, Probability: req.Probability, RottenDays: req.RottenDays},
		Position: req.Position})
	if err != nil {
		return err
	}
	location(c, p.ID)
	return c.Status(fiber.StatusCreated).JSON(toJSON(p))
}

// updateStageRequest is a PATCH of a stage. A stage's key never changes, so key is not a
// field of it (400 unknown_field); null clears rotten_days and nothing else.
type updateStageRequest struct {
	Name        patch.Optional[string] `json:"name" trim:"true" patch:"nonnull"`
	Probability patch.Optional[int]    `json:"probability" patch:"nonnull"`
	RottenDays  patch.Optional[int]    `json:"rotten_days"`
	Position    patch.Optional[int]    `json:"position" patch:"nonnull"`
}

func (h handler) updateStage(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	stageID, err := web.PathID(c, "stage_id")
	if err != nil {
		return err
	}
	var req updateStageRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	p, err := h.svc.UpdateStage(c.UserContext(), id, stageID, StagePatch{Name: req.Name.Ptr(), Probability: req.Probability.Ptr(),
		RottenDays: req.RottenDays, Position: req.Position.Ptr()})
	if err != nil {
		return err
	}
	return c.JSON(toJSON(p))
}

func (h handler) deleteStage(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	stageID, err := web.PathID(c, "stage_id")
	if err != nil {
		return err
	}
	var moveTo *string
	if c.Context().QueryArgs().Has("move_to") {
		v := c.Query("move_to")
		moveTo = &v
	}
	if err := h.svc.DeleteStage(c.UserContext(), id, stageID, moveTo); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
