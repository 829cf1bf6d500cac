package timeline

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/listing"
)

// Outbox is what this module uses of the change feed (platform/events.Outbox).
type Outbox interface {
	Record(ctx context.Context, c events.Change) (int64, error)
}

// Service implements the timeline facade.
type Service struct {
	store  store
	outbox Outbox // nil: no events (the module's own tests, which have no feed)
}

var _ timelineapi.Timeline = (*Service)(nil)

// Append implements timelineapi.Timeline. The activity and its activity.created event are
// written in the caller's transaction, or in one of their own when the caller has none.
func (s *Service) Append(ctx context.Context, a timelineapi.NewActivity) (timelineapi.Activity, error) {
	if err := checkType(a.Type); err != nil {
		return timelineapi.Activity{}, err
	}
	payload, err := payloadObject(a.Payload)
	if err != nil {
		return timelineapi.Activity{}, err
	}
	var out timelineapi.Activity
	err = s.store.db.WithinTx(ctx, func(ctx context.Context) error {
		r, err := s.store.insert(ctx, a.OrgID, a.DealID, a.AuthorID, a.Type, payload)
		if err != nil {
			return err
		}
		out = r.activity()
		if s.outbox == nil {
			return nil
		}
		_, err = s.outbox.Record(ctx, events.Change{OrgID: a.OrgID, Type: "activity.created", Object: toJSON(out)})
		return err
	})
	if err != nil {
		return timelineapi.Activity{}, err
	}
	return out, nil
}

// Render implements timelineapi.Timeline.
func (s *Service) Render(a timelineapi.Activity) any { return toJSON(a) }

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

// EditComment implements timelineapi.Timeline.
func (s *Service) EditComment(ctx context.Context, e timelineapi.CommentEdit) (timelineapi.Activity, error) {
	var out timelineapi.Activity
	err := s.store.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.lock(ctx, e.OrgID, e.DealID, e.ID)
		if err != nil {
			return err
		}
		before := cur.activity()
		if err := checkEditable(before, e.EditorID, false); err != nil {
			return err
		}
		c, err := checkCommentPayload(e.Payload)
		if err != nil {
			return err
		}
		if sameText(cur.Payload, c) {
			out = before // nothing changes: no write, no event, edited_at stays
			return nil
		}
		payload, err := payloadObject(c)
		if err != nil {
			return err
		}
		r, err := s.store.setPayload(ctx, e.OrgID, e.ID, payload)
		if err != nil {
			return err
		}
		out = r.activity()
		if s.outbox == nil {
			return nil
		}
		_, err = s.outbox.Record(ctx, events.Change{OrgID: e.OrgID, Type: "activity.updated", Object: toJSON(out), Before: toJSON(before)})
		return err
	})
	if err != nil {
		return timelineapi.Activity{}, err
	}
	return out, nil
}

// DeleteComment implements timelineapi.Timeline.
func (s *Service) DeleteComment(ctx context.Context, r timelineapi.CommentRemoval) error {
	return s.store.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.lock(ctx, r.OrgID, r.DealID, r.ID)
		if err != nil {
			return err
		}
		last := cur.activity()
		if err := checkEditable(last, r.UserID, r.AnyAuthor); err != nil {
			if errors.Is(err, timelineapi.ErrNotAuthor) {
				return timelineapi.ErrNotAuthor.WithDetail("only the author of a comment, or an owner or admin, can delete it")
			}
			return err
		}
		if err := s.store.delete(ctx, r.OrgID, r.ID); err != nil {
			return err
		}
		if s.outbox == nil {
			return nil
		}
		_, err = s.outbox.Record(ctx, events.Change{OrgID: r.OrgID, Type: "activity.deleted", Object: toJSON(last)})
		return err
	})
}

// newService returns the service on db, recording events through outbox when it is not nil.
func newService(db *database.DB, outbox Outbox) *Service {
	return &Service{store: store{db: db}, outbox: outbox}
}
