package webhooks

import (
	"context"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/queue"
)

// Endpoint is a webhook endpoint as the API shows it (never with its secret).
type Endpoint struct {
	ID             int64
	OrganizationID int64
	URL            string
	Events         []string
	Description    *string
	Enabled        bool
	DisabledReason *string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Delivery is one event sent, or to be sent, to one endpoint.
type Delivery struct {
	ID             int64
	EndpointID     int64
	EventID        int64
	EventType      string
	Status         string
	Attempts       int
	LastAttemptAt  *time.Time
	NextAttemptAt  *time.Time
	ResponseStatus *int
	DurationMS     *int
	Error          *string
	ResponseBody   []byte
	CreatedAt      time.Time
}

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Why an endpoint is disabled.
const (
	DisabledByUser  = "disabled_by_user" // enabled set to false
	DisabledGone    = "gone"             // the receiver answered 410 Gone
	DisabledFailing = "failing"          // no 2xx answer for WEBHOOK_DISABLE_AFTER
)

// PreviousSecretTTL is how long a rotated-out secret keeps signing.
const PreviousSecretTTL = 24 * time.Hour

// Settings are the module's configuration.
type Settings struct {
	MaxEndpoints int  // WEBHOOK_MAX_ENDPOINTS
	AllowPrivate bool // WEBHOOK_ALLOW_PRIVATE_NETWORKS
	Resolver     Resolver
}

// Service implements the webhook use cases and the delivery pipeline.
type Service struct {
	db       *database.DB
	store    store
	sealer   sealer
	settings Settings
	now      func() time.Time
	events   recorder
	outbox   *events.Outbox
	queue    *queue.Queue
	sender   *sender
	metrics  *metrics
	// schedule are the waits between attempts; disableAfter how long an endpoint may fail
	// before it is disabled; timeout bounds one attempt.
	schedule     []time.Duration
	disableAfter time.Duration
	timeout      time.Duration
	// retention is how long finished deliveries are kept.
	retention time.Duration
}

// NewEndpoint is an endpoint to create.
type NewEndpoint struct {
	URL         string
	Events      []string
	Description *string
	Enabled     *bool // nil: enabled
}

// Patch changes an endpoint; nil or unset fields stay as they are.
type Patch struct {
	URL         *string
	Events      []string // nil: unchanged
	Description patch.Optional[string]
	Enabled     *bool
}

// caller is the principal of a webhook use case: owner or admin of the organization.
func caller(ctx context.Context) (auth.Principal, error) {
	return auth.RequireRole(ctx, auth.RoleOwner, auth.RoleAdmin)
}

// validate checks the fields given (nil: not given) and names every invalid one at once;
// only a URL of valid form is then checked against the destination rules.
func (s *Service) validate(ctx context.Context, url *string, events []string, description *string) error {
	var fields []apperr.FieldError
	if url != nil {
		if fe := checkURLForm(*url); fe != nil {
			fields = append(fields, *fe)
		}
	}
	if events != nil {
		if fe := checkEvents(events); fe != nil {
			fields = append(fields, *fe)
		}
	}
	if description != nil && utf8.RuneCountInString(*description) > MaxDescriptionLength {
		fields = append(fields, apperr.FieldError{Field: "description", Message: "must be at most 500 characters long"})
	}
	if len(fields) > 0 {
		return apperr.InvalidFields("validation_failed", fields...)
	}
	if url != nil && !s.settings.AllowPrivate && !destinationAllowed(ctx, s.settings.Resolver, *url) {
		return ErrURLNotAllowed
	}
	return nil
}

// List returns a page of the organization's endpoints, newest first.
func (s *Service) List(ctx context.Context, w listing.Window) (listing.Result[Endpoint], error) {
	p, err := caller(ctx)
	if err != nil {
		return listing.Result[Endpoint]{}, err
	}
	rows, err := s.store.list(ctx, p.OrgID, w)
	if err != nil {
		return listing.Result[Endpoint]{}, err
	}
	return database.MapResult(rows, endpointRow.endpoint), nil
}

// Create adds an endpoint and returns it with its signing secret, which is shown only once.
// At most Settings.MaxEndpoints exist per organization (409 webhook_limit_reached).
func (s *Service) Create(ctx context.Context, in NewEndpoint) (Endpoint, string, error) {
	p, err := caller(ctx)
	if err != nil {
		return Endpoint{}, "", err
	}
	if in.Events == nil {
		in.Events = []string{}
	}
	if err := s.validate(ctx, &in.URL, in.Events, in.Description); err != nil {
		return Endpoint{}, "", err
	}
	secret := newSecret()
	enabled := in.Enabled == nil || *in.Enabled
	var out endpointRow
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.lockEndpoints(ctx, p.OrgID); err != nil {
			return err
		}
		n, err := s.store.countEndpoints(ctx, p.OrgID)
		if err != nil {
			return err
		}
		if n >= s.settings.MaxEndpoints {
			return ErrEndpointLimit
		}
		out, err = s.store.insert(ctx, p.OrgID, newEndpoint{URL: in.URL, Events: in.Events, Description: in.Description,
			Enabled: enabled, Secret: s.sealer.seal(secret)})
		if err != nil {
			return err
		}
		return s.events.endpointChanged(ctx, p, "webhook.created", out.endpoint(), nil)
	})
	if err != nil {
		return Endpoint{}, "", err
	}
	return out.endpoint(), secret, nil
}

// Get returns one endpoint.
func (s *Service) Get(ctx context.Context, id int64) (Endpoint, error) {
	p, err := caller(ctx)
	if err != nil {
		return Endpoint{}, err
	}
	r, err := s.store.get(ctx, p.OrgID, id, false)
	return r.endpoint(), err
}

// Update changes an endpoint. Disabling it records why; enabling it clears the reason and
// the failure clock, and it then receives only events sequenced from then on.
func (s *Service) Update(ctx context.Context, id int64, pt Patch) (Endpoint, error) {
	p, err := caller(ctx)
	if err != nil {
		return Endpoint{}, err
	}
	if err := s.validate(ctx, pt.URL, pt.Events, pt.Description.Ptr()); err != nil {
		return Endpoint{}, err
	}
	var out endpointRow
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.get(ctx, p.OrgID, id, true)
		if err != nil {
			return err
		}
		set := map[string]any{}
		if pt.URL != nil && *pt.URL != cur.URL {
			set["url"] = *pt.URL
		}
		if pt.Events != nil && !slices.Equal(pt.Events, cur.Events) {
			set["events"] = pt.Events
		}
		if pt.Description.Set && !equalPtr(pt.Description.Ptr(), cur.Description) {
			set["description"] = pt.Description.Ptr()
		}
		if pt.Enabled != nil && *pt.Enabled != cur.Enabled {
			set["enabled"] = *pt.Enabled
			if *pt.Enabled {
				set["disabled_reason"] = nil
				set["failing_since"] = nil
			} else {
				set["disabled_reason"] = DisabledByUser
			}
		}
		if len(set) == 0 {
			out = cur
			return nil
		}
		out, err = s.store.update(ctx, p.OrgID, id, set)
		if err != nil {
			return err
		}
		before := cur.endpoint()
		return s.events.endpointChanged(ctx, p, "webhook.updated", out.endpoint(), &before)
	})
	if err != nil {
		return Endpoint{}, err
	}
	return out.endpoint(), nil
}

func equalPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// Delete removes an endpoint with its delivery log; its pending deliveries are dropped.
func (s *Service) Delete(ctx context.Context, id int64) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.get(ctx, p.OrgID, id, true)
		if err != nil {
			return err
		}
		if err := s.store.delete(ctx, p.OrgID, id); err != nil {
			return err
		}
		return s.events.endpointChanged(ctx, p, "webhook.deleted", cur.endpoint(), nil)
	})
}

// RotateSecret gives the endpoint a new secret and returns it. The secret it replaces keeps
// signing for PreviousSecretTTL; one rotated out earlier that was still valid is dropped, so
// at most two secrets sign at any time.
func (s *Service) RotateSecret(ctx context.Context, id int64) (string, error) {
	p, err := caller(ctx)
	if err != nil {
		return "", err
	}
	secret := newSecret()
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.get(ctx, p.OrgID, id, true)
		if err != nil {
			return err
		}
		_, err = s.store.update(ctx, p.OrgID, id, map[string]any{
			"secret": s.sealer.seal(secret), "previous_secret": cur.Secret,
			"previous_secret_expires_at": s.now().Add(PreviousSecretTTL),
		})
		return err
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// signingSecrets returns the secrets that sign a delivery of r at now: the current one, and
// the previous one while it is still valid.
func (s *Service) signingSecrets(r endpointRow, now time.Time) ([]string, error) {
	cur, err := s.sealer.open(r.Secret)
	if err != nil {
		return nil, err
	}
	out := []string{cur}
	if r.PreviousSecret != nil && r.PreviousSecretExpiresAt != nil && now.Before(*r.PreviousSecretExpiresAt) {
		prev, err := s.sealer.open(r.PreviousSecret)
		if err != nil {
			return nil, err
		}
		out = append(out, prev)
	}
	return out, nil
}

// Deliveries returns a page of an endpoint's delivery log, newest first.
func (s *Service) Deliveries(ctx context.Context, endpointID int64, w listing.Window) (listing.Result[Delivery], error) {
	p, err := caller(ctx)
	if err != nil {
		return listing.Result[Delivery]{}, err
	}
	if _, err := s.store.get(ctx, p.OrgID, endpointID, false); err != nil {
		return listing.Result[Delivery]{}, err
	}
	rows, err := s.store.deliveries(ctx, p.OrgID, endpointID, w)
	if err != nil {
		return listing.Result[Delivery]{}, err
	}
	return database.MapResult(rows, deliveryRow.delivery), nil
}
