package deals

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
)

// TypeDealUpdated is the activity of a PATCH that changed a deal's fields other than those
// with activities of their own: {"changes": {"amount": {"from": "100.00", "to": "150.00"}, …}},
// each value as GET /deals/{id} renders it.
const TypeDealUpdated = "deal_updated"

// historyFields are the fields a deal_updated activity reports, in the order of the deal's
// rendering. status and stage have status_changed and stage_changed, pipeline_id has
// pipeline_changed; updated_at, closed_at, stage_entered_at and effective_probability follow
// from the write and the other fields, so none of them is reported here.
var historyFields = []string{"contact_id", "owner_id", "title", "amount", "currency", "lost_reason",
	"expected_close_date", "probability"}

// fieldChange is one field's value before and after a write, as the deal's GET renders it.
type fieldChange struct {
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// fieldChanges returns the changes of historyFields from cur to out, nil when there is none.
func fieldChanges(cur, out Deal) (map[string]fieldChange, error) {
	before, err := rendered(cur)
	if err != nil {
		return nil, err
	}
	after, err := rendered(out)
	if err != nil {
		return nil, err
	}
	var changes map[string]fieldChange
	for _, f := range historyFields {
		if !bytes.Equal(before[f], after[f]) {
			if changes == nil {
				changes = map[string]fieldChange{}
			}
			changes[f] = fieldChange{From: before[f], To: after[f]}
		}
	}
	return changes, nil
}

// rendered is the deal's GET rendering, field by field.
func rendered(d Deal) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(toJSON(d))
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(b, &m)
}

// recordFieldChanges appends one deal_updated activity by authorID for the fields a write
// took from cur to out, in the write's transaction; a write that changed none of them (only
// its status, stage or pipeline) appends nothing.
func (s *Service) recordFieldChanges(ctx context.Context, authorID int64, cur, out Deal) error {
	changes, err := fieldChanges(cur, out)
	if err != nil || changes == nil {
		return err
	}
	_, err = s.timeline.Append(ctx, timelineapi.NewActivity{OrgID: out.OrganizationID, DealID: out.ID, AuthorID: &authorID,
		Type: TypeDealUpdated, Payload: map[string]any{"changes": changes}})
	return err
}
