package webhooks

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/events"
)

// EventTypes are the event types an endpoint may subscribe to: those of the change feed.
// webhook.ping is not among them: a ping goes to its endpoint whatever it subscribes to.
var EventTypes = events.Types

// AllEvents subscribes an endpoint to every type, those added later included.
const AllEvents = "*"

// Limits of an endpoint.
const (
	MaxURLLength         = 2048
	MaxDescriptionLength = 500
)

// Errors of the module.
var (
	ErrEndpointNotFound = apperr.NotFound("webhook_not_found", "no webhook endpoint with this id exists in the organization")
	ErrDeliveryNotFound = apperr.NotFound("delivery_not_found", "no delivery with this id exists for this webhook endpoint")
	ErrEndpointLimit    = apperr.Conflict("webhook_limit_reached", "the organization has the most webhook endpoints allowed; delete one first")
	ErrURLNotAllowed    = apperr.InvalidField("webhook_url_not_allowed", "url",
		"must not point at a loopback, private, link-local or otherwise non-public address",
		"url points at an address deliveries may not reach (loopback, private, link-local, CGNAT, multicast, reserved)")
	ErrEndpointDisabled = apperr.Conflict("webhook_disabled", "the webhook endpoint is disabled; enable it first")
)

// subscribes reports whether an endpoint subscribed to events receives an event of type t.
func subscribes(events []string, t string) bool {
	return slices.Contains(events, AllEvents) || slices.Contains(events, t)
}

// checkEvents returns the field error about a subscription list, or nil: ["*"] alone, or one
// or more known types without repeats.
func checkEvents(events []string) *apperr.FieldError {
	if len(events) == 0 {
		return &apperr.FieldError{Field: "events", Message: `must list at least one event type, or be ["*"]`}
	}
	if slices.Contains(events, AllEvents) {
		if len(events) != 1 {
			return &apperr.FieldError{Field: "events", Message: `must be ["*"] alone when it holds "*"`}
		}
		return nil
	}
	var unknown []string
	seen := map[string]bool{}
	for _, e := range events {
		if !slices.Contains(EventTypes, e) && !slices.Contains(unknown, e) {
			unknown = append(unknown, e)
		}
		if seen[e] {
			return &apperr.FieldError{Field: "events", Message: "must not repeat " + e}
		}
		seen[e] = true
	}
	if len(unknown) > 0 {
		return &apperr.FieldError{Field: "events", Message: "holds unknown event types: " + strings.Join(unknown, ", ")}
	}
	return nil
}

// checkURLForm returns the field error about the form of a destination URL, or nil: an
// absolute http or https URL with a host, without user info, at most 2,048 characters long.
func checkURLForm(raw string) *apperr.FieldError {
	bad := func(msg string) *apperr.FieldError { return &apperr.FieldError{Field: "url", Message: msg} }
	if len(raw) > MaxURLLength {
		return bad("must be at most 2048 characters long")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return bad("must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("must use http or https")
	}
	if u.User != nil {
		return bad("must not carry user info (user:password@)")
	}
	if u.Hostname() == "" {
		return bad("must name a host")
	}
	return nil
}

// destinationAllowed is the save-time check of a URL whose form is valid.
func destinationAllowed(ctx context.Context, r Resolver, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	return hostAllowed(ctx, r, u.Hostname())
}
