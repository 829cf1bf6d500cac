package webhooks

import (
	"context"
	"time"

	"github.com/mini-crm/crm/platform/auth"
)

// SigningSecrets returns the secrets that sign a delivery of endpoint id now, current first.
func (s *Service) SigningSecrets(ctx context.Context, id int64) ([]string, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.store.get(ctx, p.OrgID, id, false)
	if err != nil {
		return nil, err
	}
	return s.signingSecrets(r, s.now())
}

// SetClock replaces the service's clock.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetAttemptTimeout makes attempts give up after d (the service's is 10 s), keeping the
// other rules of the sender.
func (s *Service) SetAttemptTimeout(d time.Duration) {
	s.timeout = d
	s.sender = newSender(d, s.settings.AllowPrivate, s.settings.Resolver)
}

// SetResolver makes the save-time check and the sender resolve names with r.
func (s *Service) SetResolver(r Resolver) {
	s.settings.Resolver = r
	s.sender = newSender(s.timeout, s.settings.AllowPrivate, r)
}
