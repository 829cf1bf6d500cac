// Package timelineapi is the public contract of the timeline module: the activities recorded
// on a deal (comments, status and stage changes, system events). Other modules append
// activities through it inside their own transactions.
package timelineapi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/listing"
)

// Activity types written by the modules of the service. Append accepts any snake_case
// type; only TypeComment may be created by clients.
const (
	TypeComment       = "comment"
	TypeSystem        = "system"
	TypeStatusChanged = "status_changed"
	TypeStageChanged  = "stage_changed"
	// TypePipelineChanged records a move to another pipeline:
	// {"from": {"pipeline_id", "stage"}, "to": {"pipeline_id", "stage"}}.
	TypePipelineChanged = "pipeline_changed"
)

// Activity is one entry of a deal's timeline.
type Activity struct {
	ID             int64
	OrganizationID int64
	DealID         int64
	AuthorID       *int64 // nil for events the system makes on its own
	Type           string
	Payload        json.RawMessage // always a JSON object
	CreatedAt      time.Time
}

// NewActivity is an activity to append.
type NewActivity struct {
	OrgID    int64
	DealID   int64
	AuthorID *int64
	Type     string
	// Payload is marshalled to JSON and must make a JSON object (a struct, a map or a
	// json.RawMessage holding an object).
	Payload any
}

// Timeline is the facade of the timeline module. Every method filters by the organization
// given explicitly; none checks the caller's permissions, which is the job of the module
// that owns the deal.
type Timeline interface {
	// Append records an activity and its activity.created event in the transaction carried
	// by ctx, so both commit or roll back with the caller's write (in a transaction of their
	// own when ctx carries none).
	Append(ctx context.Context, a NewActivity) (Activity, error)
	// List returns a window of the deal's activities, newest first.
	List(ctx context.Context, orgID, dealID int64, w listing.Window) (listing.Result[Activity], error)
	// Comment validates a client's activity (only TypeComment, payload {"text": 1..10000
	// characters}) and appends it with authorID as author.
	Comment(ctx context.Context, orgID, dealID, authorID int64, typ string, payload json.RawMessage) (Activity, error)
	// Render returns the activity as the API renders it: an item of a deal's timeline, and the
	// object of its activity.created event. The modules serving the timeline's routes render
	// with it, so the routes and the change feed never disagree.
	Render(a Activity) any
}

// ErrTypeNotAllowed is the 400 for a client creating an activity of another type than
// comment.
var ErrTypeNotAllowed = apperr.InvalidField("activity_type_not_allowed", "type", "must be comment",
	"only activities of type comment can be created; the other types are recorded by the system")
