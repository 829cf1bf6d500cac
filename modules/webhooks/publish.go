package webhooks

import (
	"context"

	"github.com/mini-crm/crm/platform/auth"
)

// recorder writes the webhook.* events of endpoint changes.
type recorder struct{}

// endpointChanged records the event of a change to e (before: its state before an update).
func (recorder) endpointChanged(ctx context.Context, p auth.Principal, typ string, e Endpoint, before *Endpoint) error {
	return nil
}
