package web

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
)

// Pinger checks that a dependency answers.
type Pinger func(ctx context.Context) error

// MountOps mounts /health, /ready and /metrics at the root of app.
func MountOps(app *fiber.App, ready Pinger, m *Metrics) {
	app.Get("/health", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/ready", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			return apperr.Unavailable("not_ready", "the database does not answer").Wrap(err)
		}
		return c.JSON(fiber.Map{"status": "ready"})
	})
	if m != nil {
		app.Get("/metrics", m.Handler())
	}
}
