package web

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/tracing"
)

// Problem is an RFC 9457 problem details document with the service's extensions.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Code      string              `json:"code"`
	Detail    string              `json:"detail"`
	Instance  string              `json:"instance,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	TraceID   string              `json:"trace_id,omitempty"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`
}

// ProblemContentType is the media type of every error response.
const ProblemContentType = "application/problem+json"

var kindStatus = map[apperr.Kind]int{
	apperr.KindInternal:           http.StatusInternalServerError,
	apperr.KindInvalid:            http.StatusBadRequest,
	apperr.KindUnauthenticated:    http.StatusUnauthorized,
	apperr.KindForbidden:          http.StatusForbidden,
	apperr.KindNotFound:           http.StatusNotFound,
	apperr.KindConflict:           http.StatusConflict,
	apperr.KindPreconditionFailed: http.StatusPreconditionFailed,
	apperr.KindUnprocessable:      http.StatusUnprocessableEntity,
	apperr.KindTooManyRequests:    http.StatusTooManyRequests,
	apperr.KindUnavailable:        http.StatusServiceUnavailable,
	apperr.KindGone:               http.StatusGone,
	apperr.KindNotAcceptable:      http.StatusNotAcceptable,
}

// StatusOf returns the HTTP status an application error kind is rendered with.
func StatusOf(k apperr.Kind) int { return kindStatus[k] }

// frameworkProblems maps the statuses fiber produces itself to stable codes and sentences.
var frameworkProblems = map[int][2]string{
	http.StatusBadRequest:                  {"bad_request", "the request could not be read"},
	http.StatusNotFound:                    {"route_not_found", "no such endpoint; check the path and the API version"},
	http.StatusMethodNotAllowed:            {"method_not_allowed", "this endpoint does not support that method; see the Allow header"},
	http.StatusRequestEntityTooLarge:       {"body_too_large", "the request body is larger than the limit of 1 MiB"},
	http.StatusRequestHeaderFieldsTooLarge: {"headers_too_large", "the request headers are too large"},
	http.StatusUnsupportedMediaType:        {"unsupported_media_type", "the request body must be application/json"},
	http.StatusRequestTimeout:              {"request_timeout", "the request took too long to arrive"},
	http.StatusTooManyRequests:             {"rate_limited", "too many requests, slow down"},
	http.StatusServiceUnavailable:          {"service_unavailable", "the service is unavailable, try again shortly"},
}

// ProblemFor builds the problem document for err as seen in request c.
func ProblemFor(c *fiber.Ctx, err error) Problem {
	if ae, ok := apperr.As(err); ok && ae.RetryAfter > 0 {
		secs := int64(math.Ceil(ae.RetryAfter.Seconds()))
		c.Set(fiber.HeaderRetryAfter, strconv.FormatInt(max(secs, 1), 10))
	}
	p := Problem{Type: "about:blank", Instance: c.OriginalURL(), RequestID: RequestID(c), TraceID: tracing.TraceID(c.UserContext())}
	var fe *fiber.Error
	if ae, ok := apperr.As(err); ok {
		p.Status = StatusOf(ae.Kind)
		p.Code = ae.Code
		p.Detail = ae.Detail
		p.Errors = ae.Fields
		if ae.Kind == apperr.KindInternal {
			p.Code, p.Detail = "internal_error", "something went wrong on our side; quote the request_id when reporting it"
		}
	} else if errors.As(err, &fe) {
		p.Status = fe.Code
		if fp, ok := frameworkProblems[fe.Code]; ok {
			p.Code, p.Detail = fp[0], uploadProblem(c, fe.Code, fp[1])
		} else if fe.Code >= 500 {
			p.Code, p.Detail = "internal_error", "something went wrong on our side; quote the request_id when reporting it"
		} else {
			p.Code, p.Detail = "http_"+strconv.Itoa(fe.Code), http.StatusText(fe.Code)
		}
	} else {
		p.Status = http.StatusInternalServerError
		p.Code, p.Detail = "internal_error", "something went wrong on our side; quote the request_id when reporting it"
	}
	p.Title = http.StatusText(p.Status)
	return p
}

// ErrorHandler renders every error that reaches fiber, its own included, as problem+json.
// It is the one place where errors are logged.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		// Errors raised by the server before any middleware ran (body too large, headers too
		// large) get their request id here.
		if RequestID(c) == "" {
			assignRequestID(c)
		}
		p := ProblemFor(c, err)
		switch {
		case p.Status >= 500:
			log.ErrorContext(c.UserContext(), "request failed", "request_id", p.RequestID, "trace_id", p.TraceID,
				"method", c.Method(), "path", c.Path(), "status", p.Status, "error", err.Error())
		case p.Status >= 400:
			log.DebugContext(c.UserContext(), "request rejected", "request_id", p.RequestID,
				"status", p.Status, "code", p.Code, "error", err.Error())
		}
		return WriteProblem(c, p)
	}
}

// WriteProblem writes p with the headers its status calls for.
func WriteProblem(c *fiber.Ctx, p Problem) error {
	switch p.Status {
	case http.StatusUnauthorized:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="mini-crm"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if c.GetRespHeader(fiber.HeaderRetryAfter) == "" {
			c.Set(fiber.HeaderRetryAfter, "1")
		}
	}
	// An error replaces whatever a handler may have started to write.
	c.Response().ResetBody()
	c.Status(p.Status)
	if err := c.JSON(p); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ProblemContentType)
	return nil
}
