// Package idempotency makes creating requests safe to retry. A request carrying an
// Idempotency-Key header is recorded before it runs; a retry with the same key and body
// within 24 hours gets the first response replayed, the same key with another body is a 422,
// and the same key while the first request still runs is a 409. Keys are scoped to the user
// and the organization of the request.
package idempotency

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the table's migrations.
func Migrations() fs.FS { return migrations }

// Header names the key.
const Header = "Idempotency-Key"

// ReplayedHeader marks a replayed response.
const ReplayedHeader = "Idempotent-Replayed"

// Errors of the middleware.
var (
	ErrKeyReused = apperr.New(apperr.KindUnprocessable, "idempotency_key_reused",
		"this Idempotency-Key was already used with a different request body; use a new key for a new request")
	ErrInProgress = apperr.Conflict("idempotency_key_in_progress",
		"a request with this Idempotency-Key is still being processed; retry shortly")
	ErrBadKey = apperr.InvalidField("invalid_idempotency_key", Header, "must be 1 to 255 characters of UTF-8 text",
		"the Idempotency-Key header must be 1 to 255 characters of UTF-8 text without NUL")
)

// Retention is how long a response is replayed.
const Retention = 24 * time.Hour

// keptHeaders are the response headers replayed with the body.
var keptHeaders = []string{fiber.HeaderContentType, fiber.HeaderLocation, fiber.HeaderETag}

// Keys records and replays responses.
type Keys struct {
	db *database.DB
	// abandonAfter is how long an unfinished record blocks its key: longer than any request
	// may run, so only a crashed request's record is taken over.
	abandonAfter time.Duration
	claims       atomic.Uint64
}

// New returns the middleware factory. requestTimeout is the longest a request may run.
func New(db *database.DB, requestTimeout time.Duration) *Keys {
	return &Keys{db: db, abandonAfter: 2*requestTimeout + 5*time.Second}
}

type record struct {
	RequestHash []byte            `db:"request_hash"`
	Status      *int32            `db:"status"`
	Headers     map[string]string `db:"headers"`
	Body        []byte            `db:"body"`
	CreatedAt   time.Time         `db:"created_at"`
}

// Handler is the middleware. It must run after authentication (and the tenant middleware,
// where there is one) so that the key is scoped to the caller.
//
// The claim of a key commits on its own, so that a concurrent retry sees it and gets 409.
// The request then runs in one transaction that also records its response: the write and
// the key's outcome commit together or not at all, so a key whose write committed can only
// ever replay that response, and a key whose write did not commit stays unanswered (and is
// given back, or taken over once abandoned) so that a retry runs the request for real.
func (k *Keys) Handler() fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := c.Get(Header)
		if key == "" {
			return c.Next()
		}
		if len(key) > 255 || !utf8.ValidString(key) || strings.ContainsRune(key, 0) {
			return ErrBadKey
		}
		p, _ := auth.PrincipalFrom(c.UserContext())
		h := sha256.New()
		h.Write([]byte(c.Method() + " " + c.Path() + "\n"))
		h.Write(c.Body())
		hash := h.Sum(nil)
		ctx := c.UserContext()

		claimed, err := k.claim(ctx, p, key, hash)
		if err != nil {
			return err
		}
		if !claimed {
			return k.replay(c, p, key, hash)
		}
		err = k.db.WithinTx(ctx, func(txCtx context.Context) error {
			c.SetUserContext(txCtx)
			defer c.SetUserContext(ctx)
			if err := c.Next(); err != nil {
				return err
			}
			if c.Response().StatusCode() >= 500 {
				return errServerError
			}
			return k.record(txCtx, c, p, key)
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, errServerError) {
			// The handler's error, or a response that did not commit with its write: render
			// that error in place of whatever the handler had put into the response, so the
			// client never sees a success that did not happen, and what is recorded below is
			// what the client gets.
			resetResponse(c)
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				return herr
			}
		}
		// The request's own deadline must not cut the bookkeeping short.
		after := context.WithoutCancel(ctx)
		if c.Response().StatusCode() >= 500 {
			return k.release(after, p, key)
		}
		// A client error: nothing was written, and the answer is final for this body.
		return k.record(after, c, p, key)
	}
}

// errServerError rolls back a request whose handler answered 5xx without an error.
var errServerError = errors.New("idempotency: server error response")

// resetResponse drops what a handler put into the response before it failed.
func resetResponse(c *fiber.Ctx) {
	for _, name := range keptHeaders {
		c.Response().Header.Del(name)
	}
	c.Response().ResetBody()
}

// claim inserts the in-progress record; false means a record for the key already exists.
func (k *Keys) claim(ctx context.Context, p auth.Principal, key string, hash []byte) (bool, error) {
	q := k.db.Q(ctx)
	if k.claims.Add(1)%256 == 0 {
		// Now and then, drop every expired record, not only this key's.
		if _, err := q.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)`,
			Retention.Seconds()); err != nil {
			return false, database.MapError(err)
		}
	}
	// Expired and abandoned records give their key back.
	_, err := q.Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND organization_id = $2 AND key = $3
		AND (created_at < now() - make_interval(secs => $4) OR (status IS NULL AND created_at < now() - make_interval(secs => $5)))`,
		p.UserID, p.OrgID, key, Retention.Seconds(), k.abandonAfter.Seconds())
	if err != nil {
		return false, database.MapError(err)
	}
	tag, err := q.Exec(ctx, `INSERT INTO idempotency_keys (user_id, organization_id, key, request_hash)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, p.UserID, p.OrgID, key, hash)
	if err != nil {
		return false, database.MapError(err)
	}
	return tag.RowsAffected() == 1, nil
}

func (k *Keys) replay(c *fiber.Ctx, p auth.Principal, key string, hash []byte) error {
	ctx := c.UserContext()
	rows, err := k.db.Q(ctx).Query(ctx, `SELECT request_hash, status, headers, body, created_at FROM idempotency_keys
		WHERE user_id = $1 AND organization_id = $2 AND key = $3`, p.UserID, p.OrgID, key)
	if err != nil {
		return database.MapError(err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[record])
	if database.IsNoRows(err) {
		// The first request failed and gave the key back in the meantime.
		return ErrInProgress
	}
	if err != nil {
		return database.MapError(err)
	}
	if string(r.RequestHash) != string(hash) {
		return ErrKeyReused
	}
	if r.Status == nil {
		return ErrInProgress
	}
	for name, v := range r.Headers {
		c.Set(name, v)
	}
	c.Set(ReplayedHeader, "true")
	c.Status(int(*r.Status))
	return c.Send(r.Body)
}

// release gives the key back after a server error so that the client can retry for real.
// Only an unanswered claim is removed: if the request's transaction did commit (the
// connection died while the commit was acknowledged), its recorded response stays.
func (k *Keys) release(ctx context.Context, p auth.Principal, key string) error {
	_, err := k.db.Q(ctx).Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND organization_id = $2 AND key = $3
		AND status IS NULL`, p.UserID, p.OrgID, key)
	return database.MapError(err)
}

// record stores the response for the key, in the transaction of ctx when there is one.
func (k *Keys) record(ctx context.Context, c *fiber.Ctx, p auth.Principal, key string) error {
	headers := map[string]string{}
	for _, name := range keptHeaders {
		if v := c.GetRespHeader(name); v != "" {
			headers[name] = v
		}
	}
	raw, err := json.Marshal(headers)
	if err != nil {
		return err
	}
	if database.InTx(ctx) {
		// The request may have moved its transaction to another tenant (sign-up and creating
		// an organization write the new organization's first rows): the key lives in the
		// caller's own scope.
		if ctx, err = k.db.SetTenant(ctx, p.OrgID); err != nil {
			return err
		}
	}
	tag, err := k.db.Q(ctx).Exec(ctx, `UPDATE idempotency_keys SET status = $4, headers = $5, body = $6
		WHERE user_id = $1 AND organization_id = $2 AND key = $3`,
		p.UserID, p.OrgID, key, c.Response().StatusCode(), raw, c.Response().Body())
	if err != nil {
		return database.MapError(err)
	}
	if tag.RowsAffected() != 1 {
		// Without its record the key would stay unanswered while the write commits.
		return fmt.Errorf("idempotency: the claim of key %q is gone", key)
	}
	return nil
}
