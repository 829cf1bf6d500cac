package deals

import (
	"github.com/mini-crm/crm/platform/money"
	"github.com/mini-crm/crm/platform/web"
)

// dealJSON is a deal as GET /deals/{id} renders it; the deal.* events carry the same
// rendering.
type dealJSON struct {
	ID         int64        `json:"id"`
	ContactID  int64        `json:"contact_id"`
	OwnerID    int64        `json:"owner_id"`
	Title      string       `json:"title"`
	Amount     money.Amount `json:"amount"`
	Currency   string       `json:"currency"`
	Status     string       `json:"status"`
	Stage      string       `json:"stage"`
	LostReason *string      `json:"lost_reason"`
	CreatedAt  web.Time     `json:"created_at"`
	UpdatedAt  web.Time     `json:"updated_at"`

	PipelineID           int64     `json:"pipeline_id"`
	ExpectedCloseDate    *web.Date `json:"expected_close_date"`
	Probability          *int      `json:"probability"`
	EffectiveProbability int       `json:"effective_probability"`
	ClosedAt             *web.Time `json:"closed_at"`
	StageEnteredAt       web.Time  `json:"stage_entered_at"`
}

func toJSON(d Deal) dealJSON {
	out := dealJSON{ID: d.ID, ContactID: d.ContactID, OwnerID: d.OwnerID, Title: d.Title, Amount: d.Amount,
		Currency: d.Currency, Status: d.Status, Stage: d.Stage, LostReason: d.LostReason,
		CreatedAt: web.Time(d.CreatedAt), UpdatedAt: web.Time(d.UpdatedAt),
		PipelineID: d.PipelineID, Probability: d.Probability, EffectiveProbability: d.EffectiveProbability,
		StageEnteredAt: web.Time(d.StageEnteredAt)}
	if d.ExpectedCloseDate != nil {
		v := web.Date(*d.ExpectedCloseDate)
		out.ExpectedCloseDate = &v
	}
	if d.ClosedAt != nil {
		v := web.Time(*d.ClosedAt)
		out.ClosedAt = &v
	}
	return out
}
