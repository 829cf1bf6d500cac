package orgs

import (
	"context"
	"time"
)

// Erase runs the erasure job's work on orgID for at most budget, as one run of the job does.
func (s *Service) Erase(ctx context.Context, orgID int64, budget time.Duration) (bool, error) {
	return s.erase(ctx, orgID, budget)
}

// SetEraseChunk makes each statement of the erasure delete at most n rows.
func (s *Service) SetEraseChunk(n int) { s.eraseChunk = n }

// ErrNotClosed is the refusal to erase an organization that is open.
var ErrNotClosed = errNotClosed
