// Package idempotency makes creating requests safe to retry. A request carrying an
// Idempotency-Key header is recorded before it runs; a retry with the same key and body
// within 24 hours gets the first response replayed, the same key with another body is a 422,
// and the same key while the first request still runs is a 409. Keys are scoped to the user,
// the organization and the API key of the request (0 for a person), so that a key and its
// creator never share key space.
package idempotency

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
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
		"this Idempotency-Key was already used with a different request (method, URL or body); use a new key for a new request")
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
	abandonAfter   time.Duration
	claims         atomic.Uint64
	fingerprintKey []byte
	bodies         cipher.AEAD
}

// New returns the middleware factory. requestTimeout is the longest a request may run;
// secret keys the fingerprints of request bodies, so that a stored fingerprint of a body
// holding a password cannot be tested against guesses without it.
func New(db *database.DB, requestTimeout time.Duration, secret []byte) *Keys {
	block, err := aes.NewCipher(derive(secret, "idempotency-body-v1"))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Keys{db: db, abandonAfter: 2*requestTimeout + 5*time.Second,
		fingerprintKey: derive(secret, "idempotency-v1"), bodies: aead}
}

// derive returns a 32-byte key for one purpose from the service's secret.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// sealedBody marks a recorded body encrypted with the service's key.
const sealedBody = 0x01

// seal encrypts a response body for storage: a recorded response may hold credentials (the
// tokens of a sign-up), which must not be readable from the table.
func (k *Keys) seal(body []byte) []byte {
	nonce := make([]byte, k.bodies.NonceSize(), 1+k.bodies.NonceSize()+len(body)+k.bodies.Overhead())
	_, _ = rand.Read(nonce)
	return append([]byte{sealedBody}, k.bodies.Seal(nonce, nonce, body, nil)...)
}

// open decrypts a recorded body. Bodies recorded before they were sealed are JSON (or empty)
// and never start with the marker, so they are returned as they are.
func (k *Keys) open(stored []byte) ([]byte, error) {
	if len(stored) == 0 || stored[0] != sealedBody {
		return stored, nil
	}
	n := k.bodies.NonceSize()
	if len(stored) < 1+n {
		return nil, errors.New("idempotency: recorded body too short")
	}
	return k.bodies.Open(nil, stored[1:1+n], stored[1+n:], nil)
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
		hash := k.Fingerprint(c.Method(), c.OriginalURL(), c.Body())
		ctx := c.UserContext()
		// The request's own deadline must not cut the bookkeeping short.
		after := context.WithoutCancel(ctx)

		claimedAt, claimed, err := k.claim(ctx, p, key, hash)
		if err != nil {
			return err
		}
		if !claimed {
			return k.replay(c, p, key, hash)
		}
		c2 := claim{p: p, key: key, at: claimedAt}
		defer func() {
			if r := recover(); r != nil {
				// The transaction rolled back: give the key back, then let the panic go on to
				// the recovering middleware.
				_ = k.release(after, c2)
				panic(r)
			}
		}()
		// Once: the handler chain cannot be run a second time after a deadlock.
		err = k.db.WithinTxOnce(ctx, func(txCtx context.Context) error {
			c.SetUserContext(txCtx)
			defer c.SetUserContext(ctx)
			if err := c.Next(); err != nil {
				return err
			}
			if c.Response().StatusCode() >= 500 {
				return errServerError
			}
			return k.record(txCtx, c, c2)
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
		// A 429 says "not now" (an import queue that is full), like a server error: the key
		// is given back, so that the same request sent again later runs for real.
		if st := c.Response().StatusCode(); st >= 500 || st == fiber.StatusTooManyRequests {
			return k.release(after, c2)
		}
		// A client error: nothing was written, and the answer is final for this body. When it
		// cannot be recorded, the key is given back instead: the client has its answer.
		if err := k.record(after, c, c2); err != nil {
			return k.release(after, c2)
		}
		return nil
	}
}

// Fingerprint is what tells one request from another under the same key: an HMAC, under
// the service's key, of the method, the path with its query string, and the body.
func (k *Keys) Fingerprint(method, url string, body []byte) []byte {
	h := hmac.New(sha256.New, k.fingerprintKey)
	h.Write([]byte(method + " " + url + "\n"))
	h.Write(body)
	return h.Sum(nil)
}

// claim is a key this request holds: who, which key, and when the claim was made, which
// tells this request's claim apart from a later one that took an abandoned key over.
type claim struct {
	p   auth.Principal
	key string
	at  time.Time
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

// Sweep removes every caller's expired records. Row-level security shows a statement only
// its caller's keys; the sweep announces itself (app.sweep_expired_keys) to the one policy that
// lets it see and delete expired rows of others, and nothing else sets that.
func (k *Keys) Sweep(ctx context.Context) error {
	return k.db.WithinTx(ctx, func(ctx context.Context) error {
		q := k.db.Q(ctx)
		if _, err := q.Exec(ctx, `SELECT set_config('app.sweep_expired_keys', 'on', true)`); err != nil {
			return database.MapError(err)
		}
		if _, err := q.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'`); err != nil {
			return database.MapError(err)
		}
		return nil
	})
}

// claim inserts the in-progress record and returns when it was made; false means a record
// for the key already exists.
func (k *Keys) claim(ctx context.Context, p auth.Principal, key string, hash []byte) (time.Time, bool, error) {
	if k.claims.Add(1)%256 == 0 {
		// Now and then, drop every expired record, not only this key's.
		if err := k.Sweep(ctx); err != nil {
			return time.Time{}, false, err
		}
	}
	q := k.db.Q(ctx)
	// Expired and abandoned records give their key back.
	_, err := q.Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND organization_id = $2 AND key = $3
		AND api_key_id = $6
		AND (created_at < now() - make_interval(secs => $4) OR (status IS NULL AND created_at < now() - make_interval(secs => $5)))`,
		p.UserID, p.OrgID, key, Retention.Seconds(), k.abandonAfter.Seconds(), p.KeyID)
	if err != nil {
		return time.Time{}, false, database.MapError(err)
	}
	var at time.Time
	err = q.QueryRow(ctx, `INSERT INTO idempotency_keys (user_id, organization_id, api_key_id, key, request_hash)
		VALUES ($1, $2, $5, $3, $4) ON CONFLICT DO NOTHING RETURNING created_at`, p.UserID, p.OrgID, key, hash, p.KeyID).Scan(&at)
	if database.IsNoRows(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, database.MapError(err)
	}
	return at, true, nil
}

func (k *Keys) replay(c *fiber.Ctx, p auth.Principal, key string, hash []byte) error {
	ctx := c.UserContext()
	rows, err := k.db.Q(ctx).Query(ctx, `SELECT request_hash, status, headers, body, created_at FROM idempotency_keys
		WHERE user_id = $1 AND organization_id = $2 AND api_key_id = $4 AND key = $3`, p.UserID, p.OrgID, key, p.KeyID)
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
	body, err := k.open(r.Body)
	if err != nil {
		return fmt.Errorf("idempotency: open the recorded response of key %q: %w", key, err)
	}
	c.Set(ReplayedHeader, "true")
	c.Status(int(*r.Status))
	return c.Send(body)
}

// release gives the key back after a server error so that the client can retry for real.
// Only this request's unanswered claim is removed: if the request's transaction did commit
// (the connection died while the commit was acknowledged), its recorded response stays, and
// a claim made since by a retry that took the key over is not this request's to remove.
func (k *Keys) release(ctx context.Context, cl claim) error {
	_, err := k.db.Q(ctx).Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND organization_id = $2 AND key = $3
		AND api_key_id = $5 AND status IS NULL AND created_at = $4`, cl.p.UserID, cl.p.OrgID, cl.key, cl.at, cl.p.KeyID)
	return database.MapError(err)
}

// record stores the response for this request's claim, in the transaction of ctx when there
// is one.
func (k *Keys) record(ctx context.Context, c *fiber.Ctx, cl claim) error {
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
		if ctx, err = k.db.SetTenant(ctx, cl.p.OrgID); err != nil {
			return err
		}
	}
	tag, err := k.db.Q(ctx).Exec(ctx, `UPDATE idempotency_keys SET status = $5, headers = $6, body = $7
		WHERE user_id = $1 AND organization_id = $2 AND key = $3 AND api_key_id = $8 AND status IS NULL AND created_at = $4`,
		cl.p.UserID, cl.p.OrgID, cl.key, cl.at, c.Response().StatusCode(), raw, k.seal(c.Response().Body()), cl.p.KeyID)
	if err != nil {
		return database.MapError(err)
	}
	if tag.RowsAffected() != 1 {
		// Without its record the key would stay unanswered while the write commits, or the
		// claim was taken over after this request outlived it.
		return fmt.Errorf("idempotency: the claim of key %q is no longer this request's", cl.key)
	}
	return nil
}
