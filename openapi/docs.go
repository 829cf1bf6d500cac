package openapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// Paths of the routes Mount registers.
const (
	JSONPath = "/api/v1/openapi.json"
	DocsPath = "/docs"
)

// The reference page: Swagger UI (swagger-ui-dist 5.35.0 from npm, Apache-2.0, see ui/LICENSE
// and ui/NOTICE; only the minified bundle and stylesheet are kept, without source maps),
// plus our own page and initialiser.
//
//go:embed ui/index.html ui/init.js ui/swagger-ui-bundle.js ui/swagger-ui.css ui/favicon.png
var ui embed.FS

type asset struct {
	body        []byte
	gzipped     []byte // nil when not worth compressing
	contentType string
	etag        string
}

// pageCSP keeps the page to its own assets: nothing is loaded from elsewhere, and "Try it
// out" can only call this service.
const pageCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var assets = sync.OnceValue(func() map[string]*asset {
	entries, err := ui.ReadDir("ui")
	if err != nil {
		panic("openapi: embedded ui: " + err.Error())
	}
	out := make(map[string]*asset, len(entries))
	for _, e := range entries {
		body, err := ui.ReadFile("ui/" + e.Name())
		if err != nil {
			panic("openapi: embedded ui: " + err.Error())
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, contentType: contentType(e.Name()), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		if !strings.HasPrefix(a.contentType, "image/") {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(body)
			_ = zw.Close()
			a.gzipped = buf.Bytes()
		}
		out[e.Name()] = a
	}
	return out
})

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// Assets lists the names served under /docs/ (the page itself, index.html, is served at
// /docs only).
func Assets() []string {
	var names []string
	for name := range assets() {
		if name != "index.html" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Mount registers GET /api/v1/openapi.json, GET /docs and GET /docs/{asset} on r. None of
// them needs authentication. Mount it before any middleware that would demand a token on
// /api/v1.
func Mount(r fiber.Router) {
	doc := JSON() // a broken document stops the boot instead of failing requests
	sum := sha256.Sum256(doc)
	docETag := `"` + hex.EncodeToString(sum[:12]) + `"`
	r.Get(JSONPath, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderETag, docETag)
		if c.Get(fiber.HeaderIfNoneMatch) == docETag {
			return c.SendStatus(fiber.StatusNotModified)
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(doc)
	})
	r.Get(DocsPath, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, pageCSP)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		return serveAsset(c, assets()["index.html"])
	})
	r.Get(DocsPath+"/:asset", func(c *fiber.Ctx) error {
		name := c.Params("asset")
		a, ok := assets()[name]
		if !ok || name == "index.html" {
			return fiber.ErrNotFound
		}
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		return serveAsset(c, a)
	})
}

// serveAsset sends a, compressed when the client accepts gzip, revalidated by ETag: the
// assets change only with a new release, but their URLs carry no version.
func serveAsset(c *fiber.Ctx, a *asset) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderETag, a.etag)
	c.Set(fiber.HeaderContentType, a.contentType)
	if a.gzipped != nil {
		c.Vary(fiber.HeaderAcceptEncoding)
	}
	if c.Get(fiber.HeaderIfNoneMatch) == a.etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	// AcceptsEncodings alone accepts anything when the header is absent.
	if a.gzipped != nil && strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") && c.AcceptsEncodings("gzip") == "gzip" {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(a.gzipped)
	}
	return c.Send(a.body)
}
