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

// DateIn returns the date as seen in loc (a date-time with an offset is an instant there).
func (d dueDate) DateIn(loc *time.Location) time.Time { return d.In(loc).Time() }

// day is the due date of a create, nil when none was sent.
func (d *dueDate) day() Day {
	if d == nil || d.IsZero() {
		return nil
	}
	return *d
}

// ListParams are the filters and orders GET /tasks takes besides the page.
var ListParams = []string{"deal_id", "assignee_id", "only_open", "is_done", "overdue", "due_before", "due_after",
	"order_by", "order"}

// readOnlyFields are fields a task renders that only the service sets.
var readOnlyFields = []string{"completed_at"}

// queryBool reads an optional true|false parameter.
func queryBool(c *fiber.Ctx, name string) (*bool, bool) {
	switch c.Query(name) {
	case "":
		return nil, true
	case "true":
		v := true
		return &v, true
	case "false":
		v := false
		return &v, true
	}
	return nil, false
}

// listFilter reads the query of GET /tasks. Every invalid value is a 400 naming its
// parameter; all of them are reported at once.
func listFilter(c *fiber.Ctx) (ListFilter, error) {
	var f ListFilter
	var bad []apperr.FieldError
	fail := func(field, msg string) { bad = append(bad, apperr.FieldError{Field: field, Message: msg}) }
	for _, name := range []string{"deal_id", "assignee_id"} {
		v, err := web.QueryInt64(c, name)
		if err != nil {
			fail(name, "must be a positive integer")
			continue
		}
		if name == "deal_id" {
			f.DealID = v
		} else {
			f.AssigneeID = v
		}
	}
	for _, name := range []string{"only_open", "is_done", "overdue"} {
		v, ok := queryBool(c, name)
		if !ok {
			fail(name, "must be one of: true, false")
			continue
		}
		switch {
		case name == "is_done":
			f.IsDone = v
		case v == nil:
		case name == "only_open":
			f.OnlyOpen = *v
		default:
			f.Overdue = *v
		}
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
		if name == "due_before" {
			f.DueBefore = dueDate{*d}
		} else {
			f.DueAfter = dueDate{*d}
		}
	}
	// Soonest due first, newest first for the timestamps, unless order says otherwise.
	o := web.OrderFrom(c, Orders, []string{OrderDueDate}, &bad)
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

type createRequest struct {
	DealID      int64    `json:"deal_id" validate:"required,gt=0"`
	Title       string   `json:"title" trim:"true" validate:"required,notblank,max=200"`
	Description *string  `json:"description" validate:"omitnil,max=5000"`
	DueDate     *dueDate `json:"due_date"`
	AssigneeID  *int64   `json:"assignee_id" validate:"omitnil,gt=0"`
}

func (h handler) create(c *fiber.Ctx) error {
	var req createRequest
	if err := web.RefuseReadOnly(c, readOnlyFields...); err != nil {
		return err
	}
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	t, err := h.svc.Create(c.UserContext(), NewTask{DealID: req.DealID, Title: req.Title,
		Description: req.Description, DueDate: req.DueDate.day(), AssigneeID: req.AssigneeID})
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
// is_done and assignee_id, which every task has, cannot be null.
type updateRequest struct {
	Title       patch.Optional[string]  `json:"title" trim:"true" patch:"nonnull,notblank,max=200"`
	Description patch.Optional[string]  `json:"description" patch:"max=5000"`
	DueDate     patch.Optional[dueDate] `json:"due_date" patch:""`
	IsDone      patch.Optional[bool]    `json:"is_done" patch:"nonnull"`
	AssigneeID  patch.Optional[int64]   `json:"assignee_id" patch:"nonnull,gt=0"`
}

func (h handler) update(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	var req updateRequest
	if err := web.RefuseReadOnly(c, readOnlyFields...); err != nil {
		return err
	}
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	change := Change{Patch: Patch{Title: req.Title.Ptr(), Description: req.Description, IsDone: req.IsDone.Ptr(),
		AssigneeID: req.AssigneeID.Ptr()}}
	if req.DueDate.Set {
		change.Due = patch.Null[Day]()
		if req.DueDate.HasValue() {
			change.Due = patch.Some[Day](req.DueDate.Value)
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
