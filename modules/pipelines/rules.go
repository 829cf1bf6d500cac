package pipelines

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/platform/apperr"
)

// Limits of the contract (API-2 §1).
const (
	MaxStages     = 50
	MaxNameLength = 100
	MaxRottenDays = 3650
)

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)

// KeyMessage explains the stage key format, after the field name.
const KeyMessage = "must be a lower-case letter followed by at most 49 lower-case letters, digits or underscores"

// validKey reports whether s is a stage key.
func validKey(s string) bool { return keyPattern.MatchString(s) }

// nameFromKey is the name a stage gets when it is created without one: the key with
// underscores as spaces and its first letter in upper case ("closed_won" → "Closed won").
func nameFromKey(key string) string {
	s := strings.ReplaceAll(key, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// NewStage is a stage to create. Name nil takes the name from the key; Probability nil is 0.
type NewStage struct {
	Key         string
	Name        *string
	Probability *int
	RottenDays  *int
}

// row is the stage as it is inserted at position.
func (n NewStage) row(position int) newStageRow {
	r := newStageRow{Key: n.Key, Name: nameFromKey(n.Key), Position: position, RottenDays: n.RottenDays}
	if n.Name != nil {
		r.Name = strings.TrimSpace(*n.Name)
	}
	if n.Probability != nil {
		r.Probability = *n.Probability
	}
	return r
}

// check reports what is wrong with the stage, its fields named under prefix ("stages[2].").
func (n NewStage) check(prefix string) []apperr.FieldError {
	var out []apperr.FieldError
	if !validKey(n.Key) {
		out = append(out, apperr.FieldError{Field: prefix + "key", Message: KeyMessage})
	}
	if n.Name != nil {
		out = append(out, checkName(prefix+"name", *n.Name)...)
	}
	if n.Probability != nil {
		out = append(out, checkProbability(prefix+"probability", *n.Probability)...)
	}
	if n.RottenDays != nil {
		out = append(out, checkRottenDays(prefix+"rotten_days", *n.RottenDays)...)
	}
	return out
}

func checkName(field, name string) []apperr.FieldError {
	n := utf8.RuneCountInString(strings.TrimSpace(name))
	switch {
	case n == 0:
		return []apperr.FieldError{{Field: field, Message: "is required"}}
	case n > MaxNameLength:
		return []apperr.FieldError{{Field: field, Message: fmt.Sprintf("must be at most %d characters long", MaxNameLength)}}
	}
	return nil
}

func checkProbability(field string, p int) []apperr.FieldError {
	if p < 0 || p > 100 {
		return []apperr.FieldError{{Field: field, Message: "must be an integer from 0 to 100"}}
	}
	return nil
}

func checkRottenDays(field string, d int) []apperr.FieldError {
	if d < 1 || d > MaxRottenDays {
		return []apperr.FieldError{{Field: field, Message: fmt.Sprintf("must be null or an integer from 1 to %d", MaxRottenDays)}}
	}
	return nil
}

func checkPosition(field string, p int) []apperr.FieldError {
	if p < 1 {
		return []apperr.FieldError{{Field: field, Message: "must be an integer of at least 1"}}
	}
	return nil
}

// NewPipeline is a pipeline to create, its stages in order.
type NewPipeline struct {
	Name   string
	Stages []NewStage
}

// check validates a new pipeline: its name, 1..50 stages, each stage, and keys unique
// within the body (a repeated key is named at its second occurrence).
func (n NewPipeline) check() error {
	out := checkName("name", n.Name)
	if len(n.Stages) < 1 || len(n.Stages) > MaxStages {
		out = append(out, apperr.FieldError{Field: "stages", Message: fmt.Sprintf("must list from 1 to %d stages", MaxStages)})
	}
	seen := map[string]int{}
	for i, st := range n.Stages {
		prefix := fmt.Sprintf("stages[%d].", i)
		out = append(out, st.check(prefix)...)
		if first, dup := seen[st.Key]; dup && validKey(st.Key) {
			out = append(out, apperr.FieldError{Field: prefix + "key",
				Message: fmt.Sprintf("repeats the key of stages[%d]; keys are unique within a pipeline", first)})
		} else if !dup {
			seen[st.Key] = i
		}
	}
	return invalid(out)
}

// invalid is the 400 about the fields, or nil when there are none.
func invalid(fields []apperr.FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return apperr.InvalidFields("validation_failed", fields...)
}

// clamp puts a requested position into 1..last: a position past the end means the end.
func clamp(p, last int) int {
	return min(max(p, 1), last)
}

// reorder returns ids with id moved to position pos (1-based, clamped to the list).
func reorder(ids []int64, id int64, pos int) []int64 {
	out := make([]int64, 0, len(ids))
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	i := clamp(pos, len(out)+1) - 1
	out = append(out, 0)
	copy(out[i+1:], out[i:])
	out[i] = id
	return out
}

// pipelineHasDeals is the 409 for deleting a pipeline that deals are in.
func pipelineHasDeals(n int64) error {
	return pipelinesapi.ErrPipelineHasDeals.WithDetail(
		fmt.Sprintf("the pipeline cannot be deleted: %s in it; move them to another pipeline or delete them first", deals(n)))
}

// stageHasDeals is the 409 for deleting a stage that deals are at without move_to.
func stageHasDeals(n int64) error {
	return pipelinesapi.ErrStageHasDeals.WithDetail(
		fmt.Sprintf("the stage cannot be deleted: %s at it; delete it with ?move_to=<stage key> to move them first", deals(n)))
}

func deals(n int64) string {
	if n == 1 {
		return "1 deal is"
	}
	return fmt.Sprintf("%d deals are", n)
}
