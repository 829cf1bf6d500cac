package web

import (
	"strings"
	"time"

	gocache "github.com/patrickmn/go-cache"
)

// verifiedTokens remembers the access tokens this process has verified, so that the next
// request with the same token skips the base64 and JSON decoding and the signature check
// (a tenth of the CPU a simple read costs). An access token is immutable and carries its own
// expiry: the same string verified again gives the same user until it expires, so the answer
// is kept exactly until then (at most verifiedFor). Nothing about the user is cached here: the
// membership and account checks still run on every request as before.
//
// The key is the whole Authorization header as sent, "Bearer <token>" exactly; a header
// spelled differently goes through full verification, which accepts what the library accepts.
type verifiedTokens struct{ c *gocache.Cache }

// verifiedFor bounds how long a verified token is remembered.
const verifiedFor = 5 * time.Minute

func newVerifiedTokens() verifiedTokens {
	return verifiedTokens{c: gocache.New(verifiedFor, time.Minute)}
}

type verifiedToken struct {
	uid     int64
	expires time.Time
}

// keep remembers that header carries a valid access token of uid, expiring at exp.
func (v verifiedTokens) keep(header string, uid int64, exp time.Time) {
	if v.c == nil || !strings.HasPrefix(header, "Bearer ") {
		return
	}
	ttl := min(time.Until(exp), verifiedFor)
	if ttl <= 0 {
		return
	}
	// fiber's header strings share the request's buffer, which the next request reuses: the
	// key must be a copy of its own, or it would change under the cache.
	v.c.Set(strings.Clone(header), verifiedToken{uid: uid, expires: exp}, ttl)
}

// lookup returns the user of the token header carries when it was verified before and has
// not expired since.
func (v verifiedTokens) lookup(header string) (int64, bool) {
	if v.c == nil || !strings.HasPrefix(header, "Bearer ") {
		return 0, false
	}
	e, ok := v.c.Get(header)
	if !ok {
		return 0, false
	}
	t := e.(verifiedToken)
	if !time.Now().Before(t.expires) {
		return 0, false
	}
	return t.uid, true
}
