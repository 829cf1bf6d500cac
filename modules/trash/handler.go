package trash

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/trash/trashapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

func (h handler) list(c *fiber.Ctx) error {
	page, perr := web.PageFrom(c)
	object := c.Query("type")
	var ferr error
	if object != "" && !slices.Contains(trashapi.Objects, object) {
		ferr = apperr.InvalidFields("invalid_query", apperr.FieldError{Field: "type", Message: "must be one of: contact, deal, task"})
	}
	if err := web.QueryErrors(perr, ferr); err != nil {
		return err
	}
	res, err := h.svc.List(c.UserContext(), object, page.Window())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(res, page, toJSON))
}

func (h handler) restore(c *fiber.Ctx) error {
	object := c.Params("type")
	if !slices.Contains(trashapi.Objects, object) {
		return trashapi.ErrUnknownType
	}
	id, err := web.PathID(c, "id")
	if err != nil {
		return trashapi.ErrNotInTrash
	}
	out, err := h.svc.Restore(c.UserContext(), object, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}
