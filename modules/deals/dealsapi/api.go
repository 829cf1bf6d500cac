// Package dealsapi is the public contract of the deals module: the sales opportunities of
// an organization, their pipeline and the event announcing that they changed.
package dealsapi

import (
	"context"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
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

// Stages of the pipeline.
const (
	StageQualification = "qualification"
	StageProposal      = "proposal"
	StageNegotiation   = "negotiation"
	StageClosed        = "closed"
)

// Stages lists the stages in pipeline order. A stage's ordinal (its index + 1) is what the
// max_stage column of the deals table stores.
var Stages = []string{StageQualification, StageProposal, StageNegotiation, StageClosed}

// StageOrdinal returns the 1-based position of stage in the pipeline, 0 for an unknown stage.
func StageOrdinal(stage string) int {
	for i, s := range Stages {
		if s == stage {
			return i + 1
		}
	}
	return 0
}

// Deal is a deal of an organization.
type Deal struct {
	ID             int64
	OrganizationID int64
	ContactID      int64
	OwnerID        int64
	Title          string
	Amount         string // exact decimal with two fractional digits, e.g. "15000.00"
	Currency       string
	Status         string
	Stage          string
	MaxStage       string // the furthest stage the deal ever reached
	LostReason     *string
	CreatedAt      time.Time
	UpdatedAt      time.Time
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
}

// DealsChanged is published through the kernel after every committed write of a deal
// (create, update, delete), so that what is derived from deals (analytics) can be dropped.
type DealsChanged struct {
	OrgID int64
}

// ErrDealNotFound is the 404 for a deal that does not exist in the organization.
var ErrDealNotFound = apperr.NotFound("deal_not_found", "no deal with this id exists in the organization")
