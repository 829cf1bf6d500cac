package imports

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

// createParams reads type (required) and dry_run (default false); both bad values are named
// in one 400.
func createParams(c *fiber.Ctx) (string, bool, error) {
	var bad []apperr.FieldError
	typ := c.Query("type")
	if typ != TypeContacts && typ != TypeDeals {
		bad = append(bad, errInvalidType.Fields...)
	}
	dry := false
	switch c.Query("dry_run") {
	case "", "false":
	case "true":
		dry = true
	default:
		bad = append(bad, errInvalidDryRun.Fields...)
	}
	if len(bad) > 0 {
		return "", false, apperr.InvalidFields("invalid_query", bad...)
	}
	return typ, dry, nil
}

func (h handler) create(c *fiber.Ctx) error {
	typ, dry, err := createParams(c)
	if err != nil {
		return err
	}
	imp, err := h.svc.Create(c.UserContext(), typ, dry, c.Body())
	if err != nil {
		return err
	}
	c.Location("/api/v1/imports/" + strconv.FormatInt(imp.ID, 10))
	return c.Status(fiber.StatusAccepted).JSON(acceptedJSON{ID: imp.ID, Type: imp.Type, DryRun: imp.DryRun, Status: imp.Status})
}

func (h handler) get(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return ErrImportNotFound
	}
	imp, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(imp))
}

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
