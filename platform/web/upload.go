package web

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Upload describes a route whose body is a file rather than a JSON document: the one kind of
// route exempt from the JSON media type and from BodyLimit. Its own limit is enforced by the
// server while it reads the request, like BodyLimit: a body announced larger is refused with
// 413 from its Content-Length alone, and a chunked one as soon as it grows past the limit,
// so an oversized file is never held in memory whole.
type Upload struct {
	// MediaType is the only Content-Type the route takes (parameters such as charset aside);
	// any other is 415.
	MediaType string
	// Limit is the largest body, in bytes.
	Limit int
}

// UploadReadTimeout is how long a client may take to send the request of an upload route
// (at least; the server's own read timeout when that is longer): a file of tens of MiB needs
// more than an ordinary request.
const UploadReadTimeout = 2 * time.Minute

// uploads are the upload routes mounted so far, by uploadKey. The server consults them when a
// request's head has arrived, before it reads the body. Routes are a property of the code,
// the same in every application built in a process, so one registry serves them all.
var uploads sync.Map

// uploadKey names a route by its method and path, compared as the router does by default:
// without regard to case and to a trailing slash.
func uploadKey(method, path string) string {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return method + " " + strings.ToLower(path)
}

// uploadFor returns the upload route a request names, from its method and request URI.
func uploadFor(method, uri []byte) (Upload, bool) {
	path := uri
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	v, ok := uploads.Load(uploadKey(string(method), string(path)))
	if !ok {
		return Upload{}, false
	}
	return v.(Upload), true
}

// uploadLimits is the server's hook for a request's head: an upload route's body may be as
// large as its limit, every other body as large as BodyLimit (the server's default).
func uploadLimits(s *fasthttp.Server) func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	return func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		u, ok := uploadFor(h.Method(), h.RequestURI())
		if !ok {
			return fasthttp.RequestConfig{}
		}
		return fasthttp.RequestConfig{MaxRequestBodySize: u.Limit, ReadTimeout: max(UploadReadTimeout, s.ReadTimeout)}
	}
}

// Upload mounts a POST route that takes a file of u.MediaType, of at most u.Limit bytes, as
// its body (see Upload). The path must be literal (no parameters). Like every POST, the route
// honours Idempotency-Key; its handler reads the body with c.Body().
func (g Group) Upload(path string, u Upload, h ...fiber.Handler) {
	prefix := ""
	if fg, ok := g.router.(*fiber.Group); ok {
		prefix = fg.Prefix
	}
	uploads.Store(uploadKey(fiber.MethodPost, prefix+path), u)
	g.add(fiber.MethodPost, path, true, append([]fiber.Handler{requireMediaType(u)}, h...))
}

// requireMediaType refuses a body of another media type than the upload's with 415.
func requireMediaType(u Upload) fiber.Handler {
	return func(c *fiber.Ctx) error {
		mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
		if err != nil || !strings.EqualFold(mt, u.MediaType) {
			return fiber.NewError(fiber.StatusUnsupportedMediaType)
		}
		return c.Next()
	}
}

// uploadProblem adjusts the framework's 413 and 415 sentences for an upload route, whose
// limit and media type are its own.
func uploadProblem(c *fiber.Ctx, status int, detail string) string {
	u, ok := uploadFor([]byte(c.Method()), []byte(c.OriginalURL()))
	if !ok {
		return detail
	}
	switch status {
	case fiber.StatusRequestEntityTooLarge:
		return fmt.Sprintf("the request body is larger than the limit of %d MiB of this endpoint", u.Limit>>20)
	case fiber.StatusUnsupportedMediaType:
		return "the request body must be " + u.MediaType
	}
	return detail
}
