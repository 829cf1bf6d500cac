package timeline

import (
	"encoding/json"
	"time"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/web"
)

// activityJSON is an activity as the deal timeline (GET /deals/{id}/activities) renders it;
// the activity.* events carry the same rendering. The modules serving the timeline's routes
// render through timelineapi.Timeline.Render, so there is one rendering.
type activityJSON struct {
	ID        int64           `json:"id"`
	DealID    int64           `json:"deal_id"`
	AuthorID  *int64          `json:"author_id"`
	Type      string          `json:"type"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt web.Time        `json:"created_at"`
	// EditedAt is null until the author changes a comment's text.
	EditedAt *web.Time `json:"edited_at"`
}

func toJSON(a timelineapi.Activity) activityJSON {
	return activityJSON{ID: a.ID, DealID: a.DealID, AuthorID: a.AuthorID, Type: a.Type, Payload: a.Payload,
		CreatedAt: web.Time(a.CreatedAt), EditedAt: timeOrNil(a.EditedAt)}
}

func timeOrNil(t *time.Time) *web.Time {
	if t == nil {
		return nil
	}
	v := web.Time(*t)
	return &v
}
