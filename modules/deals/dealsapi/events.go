package dealsapi

import (
	"time"

	"github.com/mini-crm/crm/platform/money"
)

// DealFacts are the facts of a deal that what is derived from deals (the analytics read
// model) depends on. Title, contact, owner and lost reason are not among them: a write that
// changes only those emits nothing.
type DealFacts struct {
	PipelineID int64
	Status     string
	// Stage is the deal's stage: its key in the deal's pipeline and, for a stage of part 1
	// (Pipeline), its position there; 0 for any other stage.
	Stage     Stage
	MaxStage  Stage // the furthest stage the deal ever reached
	Currency  string
	Amount    money.Amount
	CreatedAt time.Time
	// ExpectedCloseDate is the deal's expected close date (midnight UTC), nil when none.
	ExpectedCloseDate *time.Time
	// Probability is the deal's override of its stage's probability, nil when it has none.
	Probability *int
	// ClosedAt is when the deal was won or lost, nil while it is open.
	ClosedAt *time.Time
	// Visited are the keys of the stages of its pipeline the deal ever entered (its stage
	// history there), sorted bytewise, without repeats.
	Visited []string
}

// DealWritten is emitted with kernel.Emit inside the transaction of every write that
// creates a deal (Before is nil), changes any of its facts, or deletes it (After is nil).
// Handlers run in that transaction: their writes commit or roll back with the deal's, and
// their error fails the write. Before and After are read from the locked row and from what
// the write returned, so a handler can apply exactly the difference.
type DealWritten struct {
	OrgID, DealID int64
	Before, After *DealFacts
}

// DealDeleting is emitted with kernel.Emit inside the transaction that moves a deal to the
// trash (its DELETE), once the deal is locked and before it goes: the tasks module moves the
// deal's live tasks to the trash with it, each with its task.deleted event. The transaction
// includes the trash (platform/database.IncludeTrashed). Handlers run in that transaction
// and their error fails the delete.
type DealDeleting struct {
	OrgID, DealID int64
}

// DealRestoring is emitted with kernel.Emit inside the transaction that brings a deal back
// from the trash, after the deal is back: the tasks module brings back the tasks that went to
// the trash with it (and no other), each with its task.restored event. The transaction
// includes the trash. Handlers run in that transaction and their error fails the restore.
type DealRestoring struct {
	OrgID, DealID int64
}
