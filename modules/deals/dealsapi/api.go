// Package dealsapi is the public contract of the deals module: the sales opportunities of
// an organization, their pipeline and the event announcing that they changed.
//
// Only the deals module reads and writes the deals table. SQL of other modules that needs
// deals calls the functions the deals module creates in its migrations:
// deals_stage_position(stage) (a stage's position in Pipeline), deals_pipeline_totals(org)
// (the organization's deals counted and summed per status, stage position, furthest stage
// and currency) and deals_created_per_day(org) (its deals counted per UTC day). They run
// with the caller's rights, under row-level security.
package dealsapi

import (
	"context"
	"math/big"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/money"
)

// Statuses of a deal.
const (
	StatusNew        = "new"
	StatusInProgress = "in_progress"
	StatusWon        = "won"
	StatusLost       = "lost"
)

// Statuses lists every status in their natural order.
var Statuses = []string{StatusNew, StatusInProgress, StatusWon, StatusLost}

// Keys of the pipeline's stages, as the API names them.
const (
	StageQualification = "qualification"
	StageProposal      = "proposal"
	StageNegotiation   = "negotiation"
	StageClosed        = "closed"
)

// Stage is a stage of the pipeline: its key and its position, 1 for the first stage. The
// position is what consumers order and compare stages by (the analytics read model stores
// it), so nobody needs to know the order of the keys.
type Stage struct {
	Key      string
	Position int
}

// Pipeline is the pipeline, in order: the one definition of the stages and of their order.
// Every other list or position of stages in Go is derived from it. In SQL, the deals table
// stores the furthest stage reached as a position (max_stage), and other modules' SQL gets
// positions from the deals module's functions (deals_stage_position, deals_pipeline_totals),
// which a test of the deals module holds to this order.
var Pipeline = func() []Stage {
	keys := []string{StageQualification, StageProposal, StageNegotiation, StageClosed}
	out := make([]Stage, len(keys))
	for i, k := range keys {
		out[i] = Stage{Key: k, Position: i + 1}
	}
	return out
}()

// Stages lists the keys of the stages in pipeline order.
var Stages = func() []string {
	out := make([]string, len(Pipeline))
	for i, s := range Pipeline {
		out[i] = s.Key
	}
	return out
}()

// StageOf returns the stage whose key is key; ok is false for an unknown key.
func StageOf(key string) (s Stage, ok bool) {
	for _, s := range Pipeline {
		if s.Key == key {
			return s, true
		}
	}
	return Stage{}, false
}

// StageAt returns the stage at position pos (1-based); ok is false outside the pipeline.
func StageAt(pos int) (s Stage, ok bool) {
	if pos < 1 || pos > len(Pipeline) {
		return Stage{}, false
	}
	return Pipeline[pos-1], true
}

// StageOrdinal returns the 1-based position of the stage whose key is key, 0 for an
// unknown key.
func StageOrdinal(key string) int {
	s, _ := StageOf(key)
	return s.Position
}

// Deal is a deal of an organization.
type Deal struct {
	ID             int64
	OrganizationID int64
	ContactID      int64
	OwnerID        int64
	Title          string
	Amount         money.Amount
	Currency       string
	Status         string
	Stage          Stage
	MaxStage       Stage // the furthest stage the deal ever reached
	LostReason     *string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// DeletedAt is set while the deal is in the trash. Only a transaction that includes the
	// trash (platform/database.IncludeTrashed) sees such a deal; every other read answers
	// ErrDealNotFound.
	DeletedAt *time.Time
}

// Deals is the facade of the deals module.
type Deals interface {
	// Deal returns the deal, ErrDealNotFound when it does not exist in orgID. It runs in the
	// transaction carried by ctx when there is one, and then share-locks the deal until that
	// transaction ends, so a decision taken on its owner cannot race a reassignment.
	Deal(ctx context.Context, orgID, dealID int64) (Deal, error)
	// CountCreatedBetween counts the deals of orgID created at or after from and before to.
	// It is served by an index on (organization_id, created_at), so a short interval costs
	// little however many deals the organization has.
	CountCreatedBetween(ctx context.Context, orgID int64, from, to time.Time) (int64, error)
	// CountCreatedInPipelineBetween counts the deals of one pipeline of orgID created at or
	// after from and before to, served by an index on (organization_id, pipeline_id,
	// created_at).
	CountCreatedInPipelineBetween(ctx context.Context, orgID, pipelineID int64, from, to time.Time) (int64, error)
	// WonByMonth totals the won deals of orgID, of one pipeline when pipelineID is set, closed
	// within any of ranges ([from, to) each), per month of closed_at in loc and currency. It is
	// served by an index of the won deals on (organization_id, closed_at).
	WonByMonth(ctx context.Context, orgID int64, pipelineID *int64, loc *time.Location, ranges [][2]time.Time) ([]MonthTotals, error)
	// StageVisits reports the visits of the pipeline's stages (stage history) that ended at
	// or after since, per stage key (visits of stages the pipeline no longer has included;
	// visits of deals in the trash left out), from the deals module's read model of finished
	// visits and the history of the window's first day.
	StageVisits(ctx context.Context, orgID, pipelineID int64, since time.Time) ([]StageVisits, error)
	// WonBetween reports the deals of the pipeline won (status won) with closed_at at or
	// after from and before to: how many, and their summed time from created_at to
	// closed_at in microseconds.
	WonBetween(ctx context.Context, orgID, pipelineID int64, from, to time.Time) (int64, *big.Int, error)
	// ImportDeals creates a deal for each row by the rules of a create by the caller in ctx
	// (POST /deals: its fields, roles, contact, pipeline and stage), each exactly as that
	// create writes it (its deal.created event, its timeline entry, the read models), in the
	// transaction carried by ctx. It returns how many it created and every rule a row breaks;
	// the caller rolls the transaction back when any row was refused.
	ImportDeals(ctx context.Context, rows []ImportRow) (int, []ImportError, error)
}

// MonthTotals are deals of one month and currency: how many, their sum, and (open deals) the
// sum of amount × effective probability (the weighted amount × 100, exact).
type MonthTotals struct {
	Month      *time.Time // the first day of the month (UTC midnight), nil for no month
	Currency   string
	Deals      int64
	Amount     money.Amount
	AmountProb money.Amount
}

// StageVisits are the finished visits of one stage: how many, and the mean and median of
// their durations (exact to the microsecond).
type StageVisits struct {
	Stage  string
	Visits int64
	Mean   time.Duration
	Median time.Duration
}

// DealsChanged is published through the kernel after every committed write of a deal
// (create, update, delete), so that what is derived from deals (analytics) can be dropped.
type DealsChanged struct {
	OrgID int64
}

// ErrDealNotFound is the 404 for a deal that does not exist in the organization.
var ErrDealNotFound = apperr.NotFound("deal_not_found", "no deal with this id exists in the organization")
