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
}

func toJSON(d Deal) dealJSON {
	return dealJSON{ID: d.ID, ContactID: d.ContactID, OwnerID: d.OwnerID, Title: d.Title, Amount: d.Amount,
		Currency: d.Currency, Status: d.Status, Stage: d.Stage, LostReason: d.LostReason,
		CreatedAt: web.Time(d.CreatedAt), UpdatedAt: web.Time(d.UpdatedAt)}
}
