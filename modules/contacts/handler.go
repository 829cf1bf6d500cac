package contacts

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

func init() { web.RegisterTextRule("phone", PhoneMessage, validPhone) }

func (h handler) list(c *fiber.Ctx) error {
	page, perr := web.PageFrom(c)
	owner, oerr := web.QueryInt64(c, "owner_id")
	var serr error
	search := strings.TrimSpace(c.Query("search"))
	if len([]rune(search)) > MaxSearchLength {
		serr = apperr.InvalidField("invalid_query", "search", "must be at most 200 characters long",
			"search must be at most 200 characters long")
	}
	if err := web.QueryErrors(perr, oerr, serr); err != nil {
		return err
	}
	res, err := h.svc.List(c.UserContext(), ListFilter{Search: search, OwnerID: owner}, page.Window())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(res, page, toJSON))
}

type createRequest struct {
	Name    string  `json:"name" trim:"true" validate:"required,notblank,max=200"`
	Email   *string `json:"email" trim:"true" validate:"omitnil,max=254,email"`
	Phone   *string `json:"phone" trim:"true" validate:"omitnil,phone"`
	OwnerID *int64  `json:"owner_id" validate:"omitnil,gt=0"`
}

func (h handler) create(c *fiber.Ctx) error {
	var req createRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	ct, err := h.svc.Create(c.UserContext(), NewContact{OwnerID: req.OwnerID, Name: req.Name, Email: req.Email, Phone: req.Phone})
	if err != nil {
		return err
	}
	c.Location("/api/v1/contacts/" + strconv.FormatInt(ct.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(toJSON(ct))
}

func (h handler) get(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	ct, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(ct))
}

// updateRequest is a PATCH: each field's create rules apply to a present value, and name and
// owner_id, which every contact has, cannot be null.
type updateRequest struct {
	Name    patch.Optional[string] `json:"name" trim:"true" patch:"nonnull,notblank,max=200"`
	Email   patch.Optional[string] `json:"email" trim:"true" patch:"max=254,email"`
	Phone   patch.Optional[string] `json:"phone" trim:"true" patch:"phone"`
	OwnerID patch.Optional[int64]  `json:"owner_id" patch:"nonnull,gt=0"`
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
	ct, err := h.svc.Update(c.UserContext(), id, Patch{OwnerID: req.OwnerID.Ptr(), Name: req.Name.Ptr(), Email: req.Email, Phone: req.Phone})
	if err != nil {
		return err
	}
	return c.JSON(toJSON(ct))
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
