// Package web builds the HTTP application: the fiber app with its middleware chain, the one
// error handler that renders RFC 9457 problem details, request binding and validation,
// pagination, and the operational endpoints.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/trace"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/tracing"
)

// Options configures the application.
type Options struct {
	Logger         *slog.Logger
	Metrics        *Metrics
	RequestTimeout time.Duration
	BodyLimit      int
	// ReadTimeout bounds how long a client may take to send a request; a slow client is cut off.
	ReadTimeout time.Duration
	// TracerProvider, when set, gives every request a span (see traced); nil traces nothing.
	TracerProvider trace.TracerProvider
	// ExportTimeout bounds a streamed export (see Export); DefaultExportTimeout when unset.
	ExportTimeout time.Duration
}

// BodyLimit is the largest request body accepted.
const BodyLimit = 1 << 20

// NewApp returns a fiber app with the service's middleware: request id, recover, access log
// and metrics, and a per-request deadline carried in the user context.
func NewApp(o Options) *fiber.App {
	if o.BodyLimit == 0 {
		o.BodyLimit = BodyLimit
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	app := fiber.New(fiber.Config{
		AppName:               "mini-crm",
		BodyLimit:             o.BodyLimit,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.RequestTimeout + 10*time.Second,
		IdleTimeout:           60 * time.Second,
		DisableStartupMessage: true,
		ErrorHandler:          ErrorHandler(o.Logger),
		ReadBufferSize:        8192,
	})
	// Upload routes take larger bodies than BodyLimit, decided from the request's head.
	app.Server().HeaderReceived = uploadLimits(app.Server())
	if o.ExportTimeout > 0 {
		exportTimeouts.Store(app, o.ExportTimeout)
	}
	app.Use(requestID, recoverer(o.Logger))
	if o.TracerProvider != nil {
		app.Use(traced(o.TracerProvider))
	}
	app.Use(accessLog(o.Logger, o.Metrics), deadline(o.RequestTimeout), queryText)
	return app
}

// queryText refuses a request whose query string, once URL-decoded, holds a name or a value
// that is not text PostgreSQL can store (the NUL character, invalid UTF-8): a 400
// invalid_query naming the parameter, before any handler reads it.
func queryText(c *fiber.Ctx) error {
	var bad error
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if bad != nil {
			return
		}
		name := printableName(string(k))
		if msg := textProblem(k); msg != "" {
			msg = "is not a valid parameter name: " + msg
			bad = apperr.InvalidField("invalid_query", name, msg, name+" "+msg)
		} else if msg := textProblem(v); msg != "" {
			bad = apperr.InvalidField("invalid_query", name, msg, name+" "+msg)
		}
	})
	if bad != nil {
		return bad
	}
	return c.Next()
}

type ctxKey int

const requestIDKey ctxKey = iota

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// HeaderRequestID carries the request id in both directions.
const HeaderRequestID = "X-Request-Id"

func requestID(c *fiber.Ctx) error {
	assignRequestID(c)
	return c.Next()
}

// assignRequestID takes the client's X-Request-Id when it is sane, else makes one, and puts it
// on the response, in the locals and in the user context.
func assignRequestID(c *fiber.Ctx) string {
	id := c.Get(HeaderRequestID)
	if !requestIDPattern.MatchString(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Locals(requestIDKey, id)
	c.Set(HeaderRequestID, id)
	c.SetUserContext(context.WithValue(c.UserContext(), requestIDKey, id))
	return id
}

// RequestID returns the id of the request being served.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDKey).(string)
	return id
}

// RequestIDFrom returns the request id carried by ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func recoverer(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic", "request_id", RequestID(c), "panic", r, "stack", string(debug.Stack()))
				err = fiber.ErrInternalServerError
			}
		}()
		return c.Next()
	}
}

func accessLog(log *slog.Logger, m *Metrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Render now so that the logged status is the one the client gets.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		status := c.Response().StatusCode()
		route := routeOf(c)
		// Copies: a streamed response is logged when its body ends, after c has been reused.
		method, path, ip, id := strings.Clone(c.Method()), strings.Clone(c.Path()), strings.Clone(c.IP()), strings.Clone(RequestID(c))
		traceID := tracing.TraceID(c.UserContext())
		line := func(elapsed time.Duration, extra ...slog.Attr) {
			if m != nil {
				m.observe(method, route, status, elapsed)
			}
			// Typed attributes: the line is written for every request, and LogAttrs spares
			// the boxing and the pairing of loose key-value arguments.
			attrs := make([]slog.Attr, 0, 9+len(extra))
			attrs = append(attrs, slog.String("request_id", id), slog.String("method", method), slog.String("path", path),
				slog.String("route", route), slog.Int("status", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000), slog.String("ip", ip))
			if traceID != "" {
				attrs = append(attrs, slog.String("trace_id", traceID))
			}
			log.LogAttrs(context.Background(), slog.LevelInfo, "request", append(attrs, extra...)...)
		}
		if !onStreamEnd(c, func(r StreamResult) { line(time.Since(start), streamAttrs(r)...) }) {
			line(time.Since(start))
		}
		return nil
	}
}

func deadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}
