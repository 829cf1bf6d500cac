package web

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/mini-crm/crm/platform/tracing"
)

// traced gives every request a server span, continuing the trace of an incoming
// traceparent header. The span goes into the user context, where the SQL statements and the
// jobs the request enqueues find their parent, and the access log and problem documents the
// trace id. It runs outside the access log, which renders errors, so the status it records is
// the one the client gets.
func traced(tp trace.TracerProvider) fiber.Handler {
	tracer := tp.Tracer(tracing.Name + "/platform/web")
	return func(c *fiber.Ctx) error {
		ctx := tracing.Propagator.Extract(c.UserContext(), requestHeaders{c})
		ctx, span := tracer.Start(ctx, c.Method(), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", c.Method()), attribute.String("url.path", c.Path())))
		streamed := false
		defer func() {
			if !streamed { // a streamed body ends the span itself; a panic ends it here
				span.End()
			}
		}()
		c.SetUserContext(ctx)
		err := c.Next()
		status := c.Response().StatusCode()
		route := routeOf(c)
		span.SetName(c.Method() + " " + route)
		span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status),
			attribute.String("crm.request_id", RequestID(c)))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		// A streamed body is written after the handler returns: the span lasts until its end.
		streamed = onStreamEnd(c, func(r StreamResult) {
			span.SetAttributes(attribute.Int64("crm.stream.bytes", r.Bytes), attribute.Int64("crm.stream.records", r.Records))
			if r.Err != nil {
				span.SetStatus(codes.Error, "stream cut off: "+r.Err.Error())
			}
			span.End()
		})
		return err
	}
}

// requestHeaders lets the propagator read a request's headers.
type requestHeaders struct{ c *fiber.Ctx }

func (h requestHeaders) Get(key string) string { return h.c.Get(key) }

func (requestHeaders) Set(string, string) {}

func (h requestHeaders) Keys() []string {
	var keys []string
	h.c.Request().Header.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	return keys
}

// routeOf is the route template a request matched, "unmatched" when none did.
func routeOf(c *fiber.Ctx) string {
	if r := c.Route(); r != nil && r.Path != "/" && r.Path != "" {
		return r.Path
	}
	return "unmatched"
}
