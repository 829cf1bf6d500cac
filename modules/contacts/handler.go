package contacts

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

type contactJSON struct {
	ID        int64    `json:"id"`
	OwnerID   int64    `json:"owner_id"`
	Name      string   `json:"name"`
	Email     *string  `json:"email"`
	Phone     *string  `json:"phone"`
	CreatedAt web.Time `json:"created_at"`
	UpdatedAt web.Time `json:"updated_at"`
}

func toJSON(c contactsapi.Contact) contactJSON {
	return contactJSON{ID: c.ID, OwnerID: c.OwnerID, Name: c.Name, Email: c.Email, Phone: c.Phone,
		CreatedAt: web.Time(c.CreatedAt), UpdatedAt: web.Time(c.UpdatedAt)}
}

func phoneErrors(phone *string) []apperr.FieldError {
	if phone != nil && !validPhone(*phone) {
		return []apperr.FieldError{{Field: "phone", Message: PhoneMessage}}
	}
	return nil
}

func (h handler) list(c *fiber.Ctx) error {
	page, err := web.PageFrom(c)
	if err != nil {
		return err
	}
	owner, err := web.QueryInt64(c, "owner_id")
	if err != nil {
		return err
	}
	search := strings.TrimSpace(c.Query("search"))
	if len([]rune(search)) > MaxSearchLength {
		return apperr.InvalidField("invalid_query", "search", "must be at most 200 characters long",
			"search must be at most 200 characters long")
	}
	res, err := h.svc.List(c.UserContext(), ListFilter{Search: search, OwnerID: owner}, page.Window())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(res, page, toJSON))
}

// createBody is decoded without validation, so that the tags of createRequest and the phone
// check are reported together.
type createBody struct {
	Name    string  `json:"name" trim:"true"`
	Email   *string `json:"email" trim:"true"`
	Phone   *string `json:"phone" trim:"true"`
	OwnerID *int64  `json:"owner_id"`
}

type createRequest struct {
	Name    string  `json:"name" validate:"required,notblank,max=200"`
	Email   *string `json:"email" validate:"omitnil,max=254,email"`
	Phone   *string `json:"phone"`
	OwnerID *int64  `json:"owner_id" validate:"omitnil,gt=0"`
}

func (h handler) create(c *fiber.Ctx) error {
	var body createBody
	if err := web.Bind(c, &body); err != nil {
		return err
	}
	req := createRequest(body)
	if err := web.Validate(&req, phoneErrors(req.Phone)...); err != nil {
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

type updateRequest struct {
	Name    patch.Optional[string] `json:"name"`
	Email   patch.Optional[string] `json:"email"`
	Phone   patch.Optional[string] `json:"phone"`
	OwnerID patch.Optional[int64]  `json:"owner_id"`
}

// updateFields is the update with its present values, checked by the same tags as a create.
type updateFields struct {
	Name    *string `json:"name" validate:"omitnil,notblank,max=200"`
	Email   *string `json:"email" validate:"omitnil,max=254,email"`
	OwnerID *int64  `json:"owner_id" validate:"omitnil,gt=0"`
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
	req.Name, req.Email, req.Phone = patch.TrimSpace(req.Name), patch.TrimSpace(req.Email), patch.TrimSpace(req.Phone)
	var extra []apperr.FieldError
	if req.Name.Null {
		extra = append(extra, apperr.FieldError{Field: "name", Message: "must not be null"})
	}
	if req.OwnerID.Null {
		extra = append(extra, apperr.FieldError{Field: "owner_id", Message: "must not be null"})
	}
	extra = append(extra, phoneErrors(req.Phone.Ptr())...)
	fields := updateFields{Name: req.Name.Ptr(), Email: req.Email.Ptr(), OwnerID: req.OwnerID.Ptr()}
	if err := web.Validate(&fields, extra...); err != nil {
		return err
	}
	ct, err := h.svc.Update(c.UserContext(), id, Patch{OwnerID: fields.OwnerID, Name: fields.Name, Email: req.Email, Phone: req.Phone})
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
