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
	EditedAt       *time.Time // when its author last changed a comment; nil until then
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
// given explicitly; none checks the caller's role or access to the deal, which is the job of
// the module that owns the deal. The one rule the timeline keeps itself is authorship: a
// comment is changed by the person who wrote it (or removed by one the deal's module names a
// moderator).
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
	// EditComment replaces the text of a comment, as its author, and records activity.updated
	// in the transaction carried by ctx. The activity is locked first, so an edit and a
	// removal of one comment run one after the other. ErrActivityNotFound unless the
	// activity is on that deal of that organization, ErrNotEditable unless it is a comment,
	// ErrNotAuthor unless the editor wrote it; the payload follows the rules of Comment.
	// Sending the text the comment has changes nothing, records nothing and returns it as it
	// is.
	EditComment(ctx context.Context, e CommentEdit) (Activity, error)
	// DeleteComment removes a comment and records activity.deleted with its last state, in
	// the transaction carried by ctx, under the same lock and errors as EditComment;
	// ErrNotAuthor when the remover neither wrote it nor may remove anyone's.
	DeleteComment(ctx context.Context, r CommentRemoval) error
	// Render returns the activity as the API renders it: an item of a deal's timeline, and the
	// object of its activity.created event. The modules serving the timeline's routes render
	// with it, so the routes and the change feed never disagree.
	Render(a Activity) any
}

// CommentEdit is a new text for a comment.
type CommentEdit struct {
	OrgID, DealID, ID int64
	// EditorID is the person changing it: only the comment's author may.
	EditorID int64
	// Payload is the client's payload, checked like that of a new comment.
	Payload json.RawMessage
}

// CommentRemoval is the removal of a comment.
type CommentRemoval struct {
	OrgID, DealID, ID int64
	// UserID is the person removing it; AnyAuthor lets them remove other people's comments
	// too (the module owning the deal decides who moderates its timeline).
	UserID    int64
	AnyAuthor bool
}

// Errors of the comment edits.
var (
	// ErrActivityNotFound is the 404 for an activity that is not on the deal, whether it is on
	// another deal, in another organization or never existed.
	ErrActivityNotFound = apperr.NotFound("activity_not_found", "no activity with this id exists on the deal's timeline")
	// ErrNotEditable is the 400 for editing or removing an activity the service recorded.
	ErrNotEditable = apperr.Invalid("activity_not_editable",
		"only comments can be edited or deleted; the other activities are the deal's history, recorded by the service")
	// ErrNotAuthor is the 403 for changing someone else's comment, or for removing it without
	// the role to moderate the timeline.
	ErrNotAuthor = apperr.Forbidden("not_author", "only the author of a comment can change it")
)

// ErrTypeNotAllowed is the 400 for a client creating an activity of another type than
// comment.
var ErrTypeNotAllowed = apperr.InvalidField("activity_type_not_allowed", "type", "must be comment",
	"only activities of type comment can be created; the other types are recorded by the system")
