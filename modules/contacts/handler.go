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

func init() {
	web.RegisterTextRule("phone", PhoneMessage, validPhone)
	web.RegisterTextRule("contacttag", TagMessage, validTag)
}

// ListParams are the filters and orders GET /contacts takes besides the page.
var ListParams = []string{"search", "tag", "owner_id", "order_by", "order"}

// listFilter reads the query of GET /contacts. Every invalid value is named in one 400.
func listFilter(c *fiber.Ctx) (ListFilter, error) {
	var f ListFilter
	var bad []apperr.FieldError
	fail := func(field, msg string) { bad = append(bad, apperr.FieldError{Field: field, Message: msg}) }
	f.Search = strings.TrimSpace(c.Query("search"))
	if len([]rune(f.Search)) > MaxSearchLength {
		fail("search", "must be at most 200 characters long")
	}
	var tags []string
	for _, v := range c.Context().QueryArgs().PeekMulti("tag") {
		if !validTag(string(v)) {
			fail("tag", TagMessage)
			break
		}
		tags = append(tags, string(v))
	}
	if f.Tags = normalizeTags(tags); len(f.Tags) > MaxTags {
		fail("tag", "must be given at most 20 times: a contact carries at most 20 tags")
	}
	if v, err := web.QueryInt64(c, "owner_id"); err != nil {
		fail("owner_id", "must be a positive integer")
	} else {
		f.OwnerID = v
	}
	o := web.OrderFrom(c, Orders, nil, &bad)
	f.OrderBy, f.Desc = o.By, o.Desc
	if len(bad) > 0 {
		return f, apperr.InvalidFields("invalid_query", bad...)
	}
	return f, nil
}

func (h handler) list(c *fiber.Ctx) error {
	page, perr := web.PageFrom(c)
	f, ferr := listFilter(c)
	if err := web.QueryErrors(perr, ferr); err != nil {
		return err
	}
	res, err := h.svc.List(c.UserContext(), f, page.Window())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(res, page, toJSON))
}

// createRequest is the body of POST /contacts. Text fields are trimmed; an optional one is
// absent, null or a non-blank text (notes are kept as written, line breaks and indentation
// included). Tags are normalized by the service; null means none.
type createRequest struct {
	Name     string   `json:"name" trim:"true" validate:"required,notblank,max=200"`
	Email    *string  `json:"email" trim:"true" validate:"omitnil,max=254,email"`
	Phone    *string  `json:"phone" trim:"true" validate:"omitnil,phone"`
	Company  *string  `json:"company" trim:"true" validate:"omitnil,notblank,max=200"`
	JobTitle *string  `json:"job_title" trim:"true" validate:"omitnil,notblank,max=200"`
	Notes    *string  `json:"notes" validate:"omitnil,notblank,max=10000"`
	Tags     []string `json:"tags" validate:"omitnil,max=20,dive,contacttag"`
	OwnerID  *int64   `json:"owner_id" validate:"omitnil,gt=0"`
}

func (h handler) create(c *fiber.Ctx) error {
	var req createRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	ct, err := h.svc.Create(c.UserContext(), NewContact{OwnerID: req.OwnerID, Name: req.Name, Email: req.Email, Phone: req.Phone,
		Company: req.Company, JobTitle: req.JobTitle, Notes: req.Notes, Tags: req.Tags})
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
// owner_id, which every contact has, cannot be null. tags replaces the whole list; null
// clears it like [].
type updateRequest struct {
	Name     patch.Optional[string]   `json:"name" trim:"true" patch:"nonnull,notblank,max=200"`
	Email    patch.Optional[string]   `json:"email" trim:"true" patch:"max=254,email"`
	Phone    patch.Optional[string]   `json:"phone" trim:"true" patch:"phone"`
	Company  patch.Optional[string]   `json:"company" trim:"true" patch:"notblank,max=200"`
	JobTitle patch.Optional[string]   `json:"job_title" trim:"true" patch:"notblank,max=200"`
	Notes    patch.Optional[string]   `json:"notes" patch:"notblank,max=10000"`
	Tags     patch.Optional[[]string] `json:"tags" patch:"max=20,dive,contacttag"`
	OwnerID  patch.Optional[int64]    `json:"owner_id" patch:"nonnull,gt=0"`
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
	ct, err := h.svc.Update(c.UserContext(), id, Patch{OwnerID: req.OwnerID.Ptr(), Name: req.Name.Ptr(), Email: req.Email, Phone: req.Phone,
		Company: req.Company, JobTitle: req.JobTitle, Notes: req.Notes, Tags: req.Tags})
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
