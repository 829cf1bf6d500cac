package apikeys

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

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

type createRequest struct {
	Name      string     `json:"name" trim:"true" validate:"required,notblank,max=200"`
	Role      string     `json:"role" validate:"required,oneof=admin manager member"`
	ExpiresAt *expiresAt `json:"expires_at"`
}

// expiresAt is an RFC 3339 date-time with an offset, its decoding errors naming the field.
type expiresAt struct{ t time.Time }

const expiresMessage = "must be an RFC 3339 date-time with an offset, such as 2026-11-27T10:15:00Z"

func (e *expiresAt) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &web.FieldDecodeError{Field: "expires_at", Message: expiresMessage}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.UTC().Year() < 1 || t.UTC().Year() > 9999 {
		return &web.FieldDecodeError{Field: "expires_at", Message: expiresMessage}
	}
	e.t = t
	return nil
}

func (r createRequest) expiry() *time.Time {
	if r.ExpiresAt == nil {
		return nil
	}
	return &r.ExpiresAt.t
}

func (h handler) create(c *fiber.Ctx) error {
	var req createRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	k, err := h.svc.Create(c.UserContext(), req.Name, auth.Role(req.Role), req.expiry())
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(createdJSON{keyJSON: toJSON(k.Key), Token: k.Token})
}

func (h handler) revoke(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return ErrKeyNotFound
	}
	if err := h.svc.Revoke(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
