package dealsapi

// DealsMoved is emitted with kernel.Emit inside the transaction of a contact merge, once the
// deals of the absorbed contacts reference the survivor (even when none had deals). No fact
// the reports count changes (DealWritten is not emitted), but every write that comes from a
// merge drops the organization's reports like a deal write does, so what a client reads
// after a merge is computed after it. Handlers run in that transaction.
type DealsMoved struct {
	OrgID     int64
	ContactID int64   // the surviving contact
	DealIDs   []int64 // the deals that moved, in id order
}
