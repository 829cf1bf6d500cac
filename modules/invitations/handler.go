package invitations

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

// statusFilter reads the repeatable status parameter of the organization's list.
func statusFilter(c *fiber.Ctx) ([]string, error) {
	var out []string
	for _, v := range c.Context().QueryArgs().PeekMulti("status") {
		s := string(v)
		if !slices.Contains(Statuses, s) {
			return nil, apperr.InvalidFields("invalid_query",
				apperr.FieldError{Field: "status", Message: "must be one of: " + strings.Join(Statuses, ", ")})
		}
		out = append(out, s)
	}
	return out, nil
}

func (h handler) list(c *fiber.Ctx) error {
	page, perr := web.PageFrom(c)
	statuses, ferr := statusFilter(c)
	if err := web.QueryErrors(perr, ferr); err != nil {
		return err
	}
	res, err := h.svc.List(c.UserContext(), statuses, page.Window())
	if err != nil {
		return err
	}
	now := h.svc.Now()
	return c.JSON(web.ListOf(res, page, func(i Invitation) invitationJSON { return toJSON(i, now) }))
}

type createRequest struct {
	Email string `json:"email" trim:"true" validate:"required,max=254,email"`
	Role  string `json:"role" validate:"required,oneof=owner admin manager member"`
}

func (h handler) create(c *fiber.Ctx) error {
	var req createRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	inv, err := h.svc.Create(c.UserContext(), req.Email, auth.Role(req.Role))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(createdJSON{invitationJSON: toJSON(inv.Invitation, h.svc.Now()), Token: inv.Token})
}

func (h handler) revoke(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return errNoSuchID
	}
	if err := h.svc.Revoke(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) mine(c *fiber.Ctx) error {
	page, err := web.PageFrom(c)
	if err != nil {
		return err
	}
	res, err := h.svc.Mine(c.UserContext(), page.Window())
	if err != nil {
		return err
	}
	now := h.svc.Now()
	return c.JSON(web.ListOf(res, page, func(a Addressed) addressedJSON { return toAddressedJSON(a, now) }))
}

type acceptRequest struct {
	Token string `json:"token" trim:"true" validate:"required,max=200"`
}

func (h handler) accept(c *fiber.Ctx) error {
	var req acceptRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	a, err := h.svc.Accept(c.UserContext(), req.Token)
	if err != nil {
		return err
	}
	return c.JSON(acceptedJSON{Organization: h.svc.RenderOrganization(a)})
}
