package deals

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/money"
	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct {
	svc *Service
	// activity renders an activity as the timeline module does, for its routes served here.
	activity func(timelineapi.Activity) any
}

// sendDeal writes one deal with its ETag.
func sendDeal(c *fiber.Ctx, status int, d Deal) error {
	c.Set(fiber.HeaderETag, d.ETag())
	return c.Status(status).JSON(toJSON(d))
}

// ListParams are the filters and orders GET /deals takes besides the page.
var ListParams = []string{"status", "stage", "pipeline_id", "expected_close_after", "expected_close_before",
	"search", "rotten", "min_amount", "max_amount", "owner_id", "contact_id", "order_by", "order"}

// listFilter reads the query of GET /deals. Every unknown value is a 400 naming its
// parameter; all of them are reported at once.
func listFilter(c *fiber.Ctx) (ListFilter, error) {
	var f ListFilter
	var bad []apperr.FieldError
	fail := func(field, msg string) { bad = append(bad, apperr.FieldError{Field: field, Message: msg}) }
	args := c.Context().QueryArgs()
	for _, v := range args.PeekMulti("status") {
		if s := string(v); slices.Contains(dealsapi.Statuses, s) {
			f.Statuses = append(f.Statuses, s)
		} else {
			fail("status", "must be one of: "+strings.Join(dealsapi.Statuses, ", "))
			break
		}
	}
	// Stage keys are checked against the pipelines by the service.
	for _, v := range args.PeekMulti("stage") {
		f.Stages = append(f.Stages, string(v))
	}
	if v, err := web.QueryInt64(c, "pipeline_id"); err != nil {
		fail("pipeline_id", "must be a positive integer")
	} else {
		f.PipelineID = v
	}
	for _, name := range []string{"expected_close_after", "expected_close_before"} {
		d, err := web.QueryDate(c, name)
		if err != nil {
			fail(name, web.DateMessage)
			continue
		}
		if d != nil {
			t := d.Time()
			if name == "expected_close_after" {
				f.ExpectedCloseAfter = &t
			} else {
				f.ExpectedCloseBefore = &t
			}
		}
	}
	f.Search = strings.TrimSpace(c.Query("search"))
	if len([]rune(f.Search)) > MaxSearchLength {
		fail("search", "must be at most 200 characters long")
	}
	switch c.Query("rotten") {
	case "", "false":
	case "true":
		f.Rotten = true
	default:
		fail("rotten", "must be one of: true, false")
	}
	amount := func(name string) *money.Amount {
		v := c.Query(name)
		if v == "" {
			return nil
		}
		a, err := money.Parse(v)
		if err != nil {
			msg := money.MsgNotNumber
			var pe *money.ParseError
			if errors.As(err, &pe) {
				msg = pe.Message
			}
			fail(name, msg)
			return nil
		}
		return &a
	}
	f.MinAmount, f.MaxAmount = amount("min_amount"), amount("max_amount")
	if f.MinAmount != nil && f.MaxAmount != nil && f.MinAmount.Cmp(*f.MaxAmount) > 0 {
		fail("min_amount", "must not be greater than max_amount")
	}
	for _, name := range []string{"owner_id", "contact_id"} {
		v, err := web.QueryInt64(c, name)
		if err != nil {
			fail(name, "must be a positive integer")
			continue
		}
		if name == "owner_id" {
			f.OwnerID = v
		} else {
			f.ContactID = v
		}
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

// closeDate is the expected_close_date field of a request: a date in either accepted format.
type closeDate struct{ web.DateInput }

func (d *closeDate) UnmarshalJSON(b []byte) error {
	return d.UnmarshalJSONField("expected_close_date", b)
}

// in returns midnight UTC of the date as the organization sees it: a date-time with an
// offset is an instant, whose date is taken in the organization's time zone. nil is no date.
func (d *closeDate) in(c *fiber.Ctx, svc *Service) (*time.Time, error) {
	if d == nil || d.IsZero() {
		return nil, nil
	}
	loc, err := svc.Location(c.UserContext())
	if err != nil {
		return nil, err
	}
	t := d.In(loc).Time()
	return &t, nil
}

// readOnlyFields are fields a deal renders that only the service sets.
var readOnlyFields = []string{"effective_probability", "closed_at", "stage_entered_at"}

// readOnlyField is web.ErrReadOnlyField about field.
func readOnlyField(field string) *apperr.Error { return web.ReadOnlyField(field) }

// checkReadOnly refuses a body that sends a read-only field, naming it, before binding (which
// would call it unknown). A body that is no JSON object is left to Bind to report.
func checkReadOnly(c *fiber.Ctx) error {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(c.Body(), &fields) // not a JSON object: fields stays empty, Bind reports it
	for _, f := range readOnlyFields {
		if _, ok := fields[f]; ok {
			return readOnlyField(f)
		}
	}
	return nil
}

type createRequest struct {
	ContactID  int64         `json:"contact_id" validate:"required,gt=0"`
	Title      string        `json:"title" trim:"true" validate:"required,notblank,max=200"`
	Amount     *money.Amount `json:"amount" validate:"required"`
	Currency   *string       `json:"currency" validate:"omitnil,iso4217"`
	Status     *string       `json:"status" validate:"omitnil,oneof=new in_progress won lost"`
	Stage      *string       `json:"stage"`
	OwnerID    *int64        `json:"owner_id" validate:"omitnil,gt=0"`
	LostReason *string       `json:"lost_reason" trim:"true" validate:"omitnil,notblank,max=1000"`

	ExpectedCloseDate *closeDate `json:"expected_close_date"`
	Probability       *int       `json:"probability" validate:"omitnil,min=0,max=100"`
	PipelineID        *int64     `json:"pipeline_id" validate:"omitnil,gt=0"`
}

func (h handler) create(c *fiber.Ctx) error {
	var req createRequest
	if err := checkReadOnly(c); err != nil {
		return err
	}
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	closeOn, err := req.ExpectedCloseDate.in(c, h.svc)
	if err != nil {
		return err
	}
	d, err := h.svc.Create(c.UserContext(), NewDeal{ContactID: req.ContactID, Title: req.Title, Amount: *req.Amount,
		Currency: req.Currency, Status: req.Status, Stage: req.Stage, OwnerID: req.OwnerID, LostReason: req.LostReason,
		ExpectedCloseDate: closeOn, Probability: req.Probability, PipelineID: req.PipelineID})
	if err != nil {
		return err
	}
	c.Location("/api/v1/deals/" + strconv.FormatInt(d.ID, 10))
	return sendDeal(c, fiber.StatusCreated, d)
}

func (h handler) get(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	d, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return sendDeal(c, fiber.StatusOK, d)
}

// updateRequest is a PATCH: each field's create rules apply to a present value, and every
// field but lost_reason, which every deal has, cannot be null.
type updateRequest struct {
	Title      patch.Optional[string]       `json:"title" trim:"true" patch:"nonnull,notblank,max=200"`
	Amount     patch.Optional[money.Amount] `json:"amount" patch:"nonnull"`
	Currency   patch.Optional[string]       `json:"currency" patch:"nonnull,iso4217"`
	Status     patch.Optional[string]       `json:"status" patch:"nonnull,oneof=new in_progress won lost"`
	Stage      patch.Optional[string]       `json:"stage" patch:"nonnull"`
	ContactID  patch.Optional[int64]        `json:"contact_id" patch:"nonnull,gt=0"`
	OwnerID    patch.Optional[int64]        `json:"owner_id" patch:"nonnull,gt=0"`
	LostReason patch.Optional[string]       `json:"lost_reason" trim:"true" patch:"notblank,max=1000"`

	ExpectedCloseDate patch.Optional[closeDate] `json:"expected_close_date" patch:""`
	Probability       patch.Optional[int]       `json:"probability" patch:"min=0,max=100"`
	PipelineID        patch.Optional[int64]     `json:"pipeline_id" patch:"nonnull,gt=0"`
}

func (h handler) update(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	var req updateRequest
	if err := checkReadOnly(c); err != nil {
		return err
	}
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	closeOn := patch.Optional[time.Time]{Set: req.ExpectedCloseDate.Set, Null: !req.ExpectedCloseDate.HasValue()}
	if req.ExpectedCloseDate.HasValue() {
		t, err := req.ExpectedCloseDate.Value.in(c, h.svc)
		if err != nil {
			return err
		}
		if t != nil {
			closeOn.Value = *t
		}
	}
	d, err := h.svc.Update(c.UserContext(), id, Patch{Title: req.Title.Ptr(), Amount: req.Amount.Ptr(), Currency: req.Currency.Ptr(),
		Status: req.Status.Ptr(), Stage: req.Stage.Ptr(), ContactID: req.ContactID.Ptr(), OwnerID: req.OwnerID.Ptr(),
		LostReason: req.LostReason, ExpectedCloseDate: closeOn, Probability: req.Probability,
		PipelineID: req.PipelineID.Ptr()}, web.IfMatch(c))
	if err != nil {
		return err
	}
	return sendDeal(c, fiber.StatusOK, d)
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

func (h handler) activities(c *fiber.Ctx) error {
	id, err := web.PathID(c, "deal_id")
	if err != nil {
		return err
	}
	page, err := web.PageFrom(c)
	if err != nil {
		return err
	}
	res, err := h.svc.Activities(c.UserContext(), id, page.Window())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(res, page, h.activity))
}

type commentRequest struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

func (h handler) comment(c *fiber.Ctx) error {
	id, err := web.PathID(c, "deal_id")
	if err != nil {
		return err
	}
	var req commentRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	a, err := h.svc.Comment(c.UserContext(), id, req.Type, req.Payload)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(h.activity(a))
}

// commentEditRequest is a comment's PATCH: its payload, checked like that of a new comment.
type commentEditRequest struct {
	Payload json.RawMessage `json:"payload"`
}

// activityReadOnlyFields are fields an activity renders that only the service sets.
var activityReadOnlyFields = []string{"edited_at"}

func (h handler) editComment(c *fiber.Ctx) error {
	dealID, err := web.PathID(c, "deal_id")
	if err != nil {
		return err
	}
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	if err := web.RefuseReadOnly(c, activityReadOnlyFields...); err != nil {
		return err
	}
	var req commentEditRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	a, err := h.svc.EditComment(c.UserContext(), dealID, id, req.Payload)
	if err != nil {
		return err
	}
	return c.JSON(h.activity(a))
}

func (h handler) deleteComment(c *fiber.Ctx) error {
	dealID, err := web.PathID(c, "deal_id")
	if err != nil {
		return err
	}
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteComment(c.UserContext(), dealID, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
