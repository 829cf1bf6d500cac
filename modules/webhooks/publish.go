package webhooks

import (
	"context"

	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/events"
)

// recorder writes the webhook.* events of endpoint changes into the change's transaction.
// They are listed to owners and admins only, and never carry a secret: the endpoint is
// rendered as its GET renders it.
type recorder struct{ outbox *events.Outbox }

// endpointChanged records the event of a change to e by p (before: its state before an
// update, nil for a create or delete).
func (r recorder) endpointChanged(ctx context.Context, p auth.Principal, typ string, e Endpoint, before *Endpoint) error {
	c := events.Change{OrgID: p.OrgID, Type: typ, Object: renderEndpoint(e), Audience: events.Managers}
	if before != nil {
		c.Before = renderEndpoint(*before)
	}
	_, err := r.outbox.Record(ctx, c)
	return err
}

// disabled records webhook.disabled, written by the service itself when deliveries disable an
// endpoint.
func (r recorder) disabled(ctx context.Context, e, before Endpoint) error {
	_, err := r.outbox.Record(ctx, events.Change{OrgID: e.OrganizationID, Type: "webhook.disabled", Object: renderEndpoint(e),
		Before: renderEndpoint(before), Actor: events.System, Audience: events.Managers})
	return err
}

// ping records the webhook.ping event of an endpoint: delivered to that endpoint only and
// never listed in the feed.
func (r recorder) ping(ctx context.Context, e Endpoint) (int64, error) {
	return r.outbox.Record(ctx, events.Change{OrgID: e.OrganizationID, Type: events.Ping, Object: renderEndpoint(e),
		Audience: events.EndpointOnly})
}
