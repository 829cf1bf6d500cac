package timeline

import (
	"context"
	"encoding/json"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/listing"
)

// Service implements the timeline facade.
type Service struct {
	store store
}

var _ timelineapi.Timeline = (*Service)(nil)

// Append implements timelineapi.Timeline. It is one statement on the querier of ctx, so it
// belongs to the caller's transaction when there is one.
func (s *Service) Append(ctx context.Context, a timelineapi.NewActivity) (timelineapi.Activity, error) {
	if err := checkType(a.Type); err != nil {
		return timelineapi.Activity{}, err
	}
	payload, err := payloadObject(a.Payload)
	if err != nil {
		return timelineapi.Activity{}, err
	}
	r, err := s.store.insert(ctx, a.OrgID, a.DealID, a.AuthorID, a.Type, payload)
	if err != nil {
		return timelineapi.Activity{}, err
	}
	return r.activity(), nil
}

// List implements timelineapi.Timeline.
func (s *Service) List(ctx context.Context, orgID, dealID int64, w listing.Window) (listing.Result[timelineapi.Activity], error) {
	rows, err := s.store.list(ctx, orgID, dealID, w)
	if err != nil {
		return listing.Result[timelineapi.Activity]{}, err
	}
	return database.MapResult(rows, activityRow.activity), nil
}

// Comment implements timelineapi.Timeline.
func (s *Service) Comment(ctx context.Context, orgID, dealID, authorID int64, typ string, payload json.RawMessage) (timelineapi.Activity, error) {
	c, err := checkComment(typ, payload)
	if err != nil {
		return timelineapi.Activity{}, err
	}
	return s.Append(ctx, timelineapi.NewActivity{OrgID: orgID, DealID: dealID, AuthorID: &authorID, Type: timelineapi.TypeComment, Payload: c})
}

// newService returns the service on db.
func newService(db *database.DB) *Service { return &Service{store: store{db: db}} }
