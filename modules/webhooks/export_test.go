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
