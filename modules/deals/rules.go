package deals

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/money"
)

// ownership is the policy for deals: a member acts only on their own. Its errors are those of platform/auth
// (auth.ErrNotOwner, auth.ErrCreateForOther, auth.ErrReassignForbidden) with sentences that
// name deals; an owner outside the organization is orgsapi.ErrOwnerNotMember.
var ownership = auth.NewOwnership("deals")

// Errors of the deal rules.
var (
	ErrWonRequiresPositiveAmount = apperr.InvalidField("won_requires_positive_amount", "amount",
		"must be greater than 0 when status is won",
		"amount must be greater than 0 to mark a deal as won")
	ErrStageRollbackForbidden = apperr.Forbidden("stage_rollback_forbidden",
		"only owners and admins can move a deal back to an earlier stage")
	ErrPreconditionFailed = apperr.New(apperr.KindPreconditionFailed, "precondition_failed",
		"the deal has changed since you read it (If-Match does not match its ETag); read it again and retry")
)

// canRemoveAnyComment tells whether a role may delete other people's comments on a deal's
// timeline: owners and admins moderate it. Editing a comment stays with its author alone,
// so that nobody's words are ever changed under their name.
func canRemoveAnyComment(r auth.Role) bool { return r == auth.RoleOwner || r == auth.RoleAdmin }

// MaxLostReasonLength bounds lost_reason, in characters.
const MaxLostReasonLength = 1000

// state is what the rules look at: the fields of a deal that rules are about.
type state struct {
	Status   string
	Stage    string
	Amount   money.Amount
	Pipeline int64
}

// checkWon enforces that a won deal has an amount above zero. prev is nil on create. The
// rule is checked on create, when the status changes and when the amount of a won deal
// changes; a patch touching neither leaves a deal as it is.
func checkWon(prev *state, next state) error {
	if next.Status != dealsapi.StatusWon {
		return nil
	}
	if prev != nil && prev.Status == next.Status && prev.Amount.Equal(next.Amount) {
		return nil
	}
	if !next.Amount.IsPositive() {
		return ErrWonRequiresPositiveAmount
	}
	return nil
}

// checkStageMove allows moving forward (skipping stages included) to everyone who may
// change the deal, and back only to owners and admins. from and to are the positions of the
// stages in the deal's pipeline.
func checkStageMove(role auth.Role, from, to int) error {
	if to < from && !role.CanRollBackStage() {
		return ErrStageRollbackForbidden
	}
	return nil
}

// likePattern is an ILIKE pattern matching search anywhere, its wildcards taken literally.
func likePattern(search string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(search) + "%"
}

// MaxSearchLength bounds the search parameter of the list, in characters.
const MaxSearchLength = 200

// closedStatus reports whether a deal with the status is closed (won or lost): it then has a
// closed_at, set anew each time its status becomes won or lost.
func closedStatus(status string) bool {
	return status == dealsapi.StatusWon || status == dealsapi.StatusLost
}

// maxStage returns the furthest part-1 stage reached once the deal is at stage: a stage of
// another key raises nothing, and every deal counts as having reached the first.
func maxStage(prevMax int, stage string) int {
	return max(prevMax, dealsapi.StageOrdinal(stage), 1)
}

// pipelineMove is the payload of a pipeline_changed activity.
func pipelineMove(fromPipeline int64, fromStage string, toPipeline int64, toStage string) map[string]any {
	return map[string]any{
		"from": map[string]any{"pipeline_id": fromPipeline, "stage": fromStage},
		"to":   map[string]any{"pipeline_id": toPipeline, "stage": toStage},
	}
}

// change is an activity to record for a real change of a tracked field.
type change struct {
	Type string
	From string
	To   string
}

func (c change) payload() map[string]string { return map[string]string{"from": c.From, "to": c.To} }

// changes returns the activities a move from prev to next records: one per tracked field
// that really changed, none when a patch repeats the current values. A move to another
// pipeline records no stage change (the service records pipeline_changed instead).
func changes(prev, next state) []change {
	var out []change
	if prev.Status != next.Status {
		out = append(out, change{Type: timelineapi.TypeStatusChanged, From: prev.Status, To: next.Status})
	}
	if prev.Stage != next.Stage && prev.Pipeline == next.Pipeline {
		out = append(out, change{Type: timelineapi.TypeStageChanged, From: prev.Stage, To: next.Stage})
	}
	return out
}

// etag is a strong validator of a deal's representation: a hash of every field a client
// sees, so it changes with any of them and with updated_at.
func etag(d Deal) string {
	b, _ := json.Marshal(struct {
		ID, Org, Contact, Owner int64
		Title, Amount, Currency string
		Status, Stage           string
		LostReason              *string
		UpdatedAt               int64
		Pipeline                int64
		ExpectedClose           *time.Time
		Probability             *int
		Effective               int
	}{d.ID, d.OrganizationID, d.ContactID, d.OwnerID, d.Title, d.Amount.String(), d.Currency,
		d.Status, d.Stage, d.LostReason, d.UpdatedAt.UnixNano(), d.PipelineID, d.ExpectedCloseDate, d.Probability,
		d.EffectiveProbability})
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}
