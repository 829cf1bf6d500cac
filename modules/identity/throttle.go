package identity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/ratelimit"
)

// ErrTooManyAttempts is the 429 of a throttled sign-in. It is the same whether or not the
// password would have been right, so throttling cannot be used to test passwords.
var ErrTooManyAttempts = apperr.New(apperr.KindTooManyRequests, "too_many_login_attempts",
	"too many sign-in attempts; wait before trying again")

// Throttle limits sign-in attempts per client address (every attempt counts) and per
// account (failed attempts count, a success clears them).
type Throttle struct {
	Store   ratelimit.Store
	PerIP   ratelimit.Rule
	PerUser ratelimit.Rule
}

// DefaultThrottle keeps counters in memory with the default limits.
func DefaultThrottle() Throttle {
	return Throttle{
		Store:   ratelimit.NewMemory(),
		PerIP:   ratelimit.Rule{Name: "login-ip", Limit: 20, Window: time.Minute},
		PerUser: ratelimit.Rule{Name: "login-account", Limit: 5, Window: 15 * time.Minute},
	}
}

func accountKey(email string) string { return strings.ToLower(NormalizeEmail(email)) }

// admit counts the attempt against the address and refuses it when either limit is reached.
func (t Throttle) admit(ctx context.Context, ip, email string) error {
	n, reset, err := t.Store.Hit(ctx, t.PerIP, ip)
	if err != nil {
		return limiterDown(err)
	}
	if n > int64(t.PerIP.Limit) {
		return tooMany(reset)
	}
	failures, reset, err := t.Store.Peek(ctx, t.PerUser, accountKey(email))
	if err != nil {
		return limiterDown(err)
	}
	if failures >= int64(t.PerUser.Limit) {
		return tooMany(reset)
	}
	return nil
}

func (t Throttle) failed(ctx context.Context, email string) error {
	if _, _, err := t.Store.Hit(ctx, t.PerUser, accountKey(email)); err != nil {
		return limiterDown(err)
	}
	return nil
}

func (t Throttle) succeeded(ctx context.Context, email string) error {
	if err := t.Store.Reset(ctx, t.PerUser, accountKey(email)); err != nil {
		return limiterDown(err)
	}
	return nil
}

func tooMany(reset time.Duration) error {
	return ErrTooManyAttempts.WithDetail(fmt.Sprintf("too many sign-in attempts; try again in %d seconds",
		int64(reset.Seconds())+1)).After(reset)
}

func limiterDown(err error) error {
	return apperr.Unavailable("limiter_unavailable", "sign-in is unavailable right now, try again shortly").Wrap(err)
}
