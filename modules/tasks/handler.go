package tasks

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

// dueDate is the due_date field of a request: a date in either accepted format, its
// decoding errors named after the field.
type dueDate struct{ web.DateInput }

func (d *dueDate) UnmarshalJSON(b []byte) error { return d.UnmarshalJSONField("due_date", b) }

func (d *dueDate) ptr() *time.Time {
	if d == nil {
		return nil
	}
	t := d.Time()
	return &t
}

// listFilter reads the query of GET /tasks. Every invalid value is a 400 naming its
// parameter; all of them are reported at once.
func listFilter(c *fiber.Ctx) (ListFilter, error) {
	var f ListFilter
	var bad []apperr.FieldError
	fail := func(field, msg string) { bad = append(bad, apperr.FieldError{Field: field, Message: msg}) }
	if v, err := web.QueryInt64(c, "deal_id"); err != nil {
		fail("deal_id", "must be a positive integer")
	} else {
		f.DealID = v
	}
	switch c.Query("only_open") {
	case "", "false":
	case "true":
		f.OnlyOpen = true
	default:
		fail("only_open", "must be true or false")
	}
	for _, name := range []string{"due_before", "due_after"} {
		d, err := web.QueryDate(c, name)
		if err != nil {
			fail(name, web.DateMessage)
			continue
		}
		if d == nil {
			continue
		}
		t := d.Time()
		if name == "due_before" {
			f.DueBefore = &t
		} else {
			f.DueAfter = &t
		}
	}
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

type createRequest struct {
	DealID      int64    `json:"deal_id" validate:"required,gt=0"`
	Title       string   `json:"title" trim:"true" validate:"required,notblank,max=200"`
	Description *string  `json:"description" validate:"omitnil,max=5000"`
	DueDate     *dueDate `json:"due_date"`
}

func (h handler) create(c *fiber.Ctx) error {
	var req createRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	t, err := h.svc.Create(c.UserContext(), NewTask{DealID: req.DealID, Title: req.Title,
		Description: req.Description, DueDate: req.DueDate.ptr()})
	if err != nil {
		return err
	}
	c.Location("/api/v1/tasks/" + strconv.FormatInt(t.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(toJSON(t))
}

func (h handler) get(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	t, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(t))
}

// updateRequest is a PATCH: each field's create rules apply to a present value, and title and
// is_done, which every task has, cannot be null.
type updateRequest struct {
	Title       patch.Optional[string]  `json:"title" trim:"true" patch:"nonnull,notblank,max=200"`
	Description patch.Optional[string]  `json:"description" patch:"max=5000"`
	DueDate     patch.Optional[dueDate] `json:"due_date" patch:""`
	IsDone      patch.Optional[bool]    `json:"is_done" patch:"nonnull"`
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
	change := Patch{Title: req.Title.Ptr(), Description: req.Description, IsDone: req.IsDone.Ptr()}
	if req.DueDate.Set {
		change.DueDate = patch.Null[time.Time]()
		if req.DueDate.HasValue() {
			change.DueDate = patch.Some(req.DueDate.Value.Time())
		}
	}
	t, err := h.svc.Update(c.UserContext(), id, change)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(t))
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
