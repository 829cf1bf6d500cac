package webhooks

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

// endpointJSON is an endpoint as GET renders it, and as webhook.* events carry it: never with
// a secret.
type endpointJSON struct {
	ID             int64    `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Description    *string  `json:"description"`
	Enabled        bool     `json:"enabled"`
	DisabledReason *string  `json:"disabled_reason"`
	CreatedAt      web.Time `json:"created_at"`
	UpdatedAt      web.Time `json:"updated_at"`
}

func renderEndpoint(e Endpoint) endpointJSON {
	events := e.Events
	if events == nil {
		events = []string{}
	}
	return endpointJSON{ID: e.ID, URL: e.URL, Events: events, Description: e.Description, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, CreatedAt: web.Time(e.CreatedAt), UpdatedAt: web.Time(e.UpdatedAt)}
}

// createdJSON is the answer to a creation: the endpoint and, this once, its secret.
type createdJSON struct {
	endpointJSON
	Secret string `json:"secret"`
}

type deliveryJSON struct {
	ID             int64     `json:"id"`
	EventID        string    `json:"event_id"`
	EventType      string    `json:"event_type"`
	Status         string    `json:"status"`
	Attempts       int       `json:"attempts"`
	LastAttemptAt  *web.Time `json:"last_attempt_at"`
	NextAttemptAt  *web.Time `json:"next_attempt_at"`
	ResponseStatus *int      `json:"response_status"`
	DurationMS     *int      `json:"duration_ms"`
	Error          *string   `json:"error"`
	ResponseBody   *string   `json:"response_body"`
	CreatedAt      web.Time  `json:"created_at"`
}

func renderDelivery(d Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, EventID: strconv.FormatInt(d.EventID, 10), EventType: d.EventType, Status: d.Status,
		Attempts: d.Attempts, ResponseStatus: d.ResponseStatus, DurationMS: d.DurationMS, Error: d.Error,
		CreatedAt: web.Time(d.CreatedAt)}
	if d.LastAttemptAt != nil {
		t := web.Time(*d.LastAttemptAt)
		out.LastAttemptAt = &t
	}
	if d.NextAttemptAt != nil {
		t := web.Time(*d.NextAttemptAt)
		out.NextAttemptAt = &t
	}
	if d.ResponseBody != nil {
		// The first KiB of what the receiver answered, as text; bytes that are not UTF-8
		// (or a character cut at the limit) are shown as U+FFFD.
		b := strings.ToValidUTF8(string(d.ResponseBody), "\uFFFD")
		out.ResponseBody = &b
	}
	return out
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
	return c.JSON(web.ListOf(res, page, renderEndpoint))
}

type createRequest struct {
	URL         string   `json:"url" trim:"true" validate:"required"`
	Events      []string `json:"events" validate:"required"`
	Description *string  `json:"description" trim:"true"`
	Enabled     *bool    `json:"enabled"`
}

func (h handler) create(c *fiber.Ctx) error {
	var req createRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	e, secret, err := h.svc.Create(c.UserContext(), NewEndpoint(req))
	if err != nil {
		return err
	}
	c.Location("/api/v1/webhooks/" + strconv.FormatInt(e.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(createdJSON{endpointJSON: renderEndpoint(e), Secret: secret})
}

func (h handler) get(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	e, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(renderEndpoint(e))
}

// updateRequest is a PATCH: url, events and enabled, which every endpoint has, cannot be
// null; a null description clears it.
type updateRequest struct {
	URL         patch.Optional[string]   `json:"url" trim:"true" patch:"nonnull"`
	Events      patch.Optional[[]string] `json:"events" patch:"nonnull"`
	Description patch.Optional[string]   `json:"description" trim:"true"`
	Enabled     patch.Optional[bool]     `json:"enabled" patch:"nonnull"`
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
	pt := Patch{URL: req.URL.Ptr(), Description: req.Description, Enabled: req.Enabled.Ptr()}
	if req.Events.HasValue() {
		pt.Events = req.Events.Value
		if pt.Events == nil {
			pt.Events = []string{}
		}
	}
	e, err := h.svc.Update(c.UserContext(), id, pt)
	if err != nil {
		return err
	}
	return c.JSON(renderEndpoint(e))
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

func (h handler) rotate(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	secret, err := h.svc.RotateSecret(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"secret": secret})
}

func (h handler) deliveries(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	page, err := web.PageFrom(c)
	if err != nil {
		return err
	}
	res, err := h.svc.Deliveries(c.UserContext(), id, page.Window())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(res, page, renderDelivery))
}

func (h handler) ping(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	d, err := h.svc.Ping(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(renderDelivery(d))
}

func (h handler) retry(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	deliveryID, err := web.PathID(c, "delivery_id")
	if err != nil {
		return err
	}
	d, err := h.svc.Retry(c.UserContext(), id, deliveryID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(renderDelivery(d))
}
