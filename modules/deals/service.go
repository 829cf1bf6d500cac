package deals

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/money"
	"github.com/mini-crm/crm/platform/patch"
)

// Contacts is what this module uses of the contacts facade.
type Contacts interface {
	Contact(ctx context.Context, orgID, contactID int64) (contactsapi.Contact, error)
	RestoreFromTrash(ctx context.Context, orgID, contactID int64) error
}

// Orgs is what this module uses of the orgs facade.
type Orgs interface {
	Organization(ctx context.Context, orgID int64) (orgsapi.Organization, error)
}

// Pipelines is what this module uses of the pipelines facade.
type Pipelines interface {
	Default(ctx context.Context, orgID int64) (pipelinesapi.Pipeline, error)
	Pipeline(ctx context.Context, orgID, id int64) (pipelinesapi.Pipeline, error)
	Pipelines(ctx context.Context, orgID int64) ([]pipelinesapi.Pipeline, error)
}

// Timeline is what this module uses of the timeline facade.
type Timeline interface {
	Append(ctx context.Context, a timelineapi.NewActivity) (timelineapi.Activity, error)
	List(ctx context.Context, orgID, dealID int64, w listing.Window) (listing.Result[timelineapi.Activity], error)
	Comment(ctx context.Context, orgID, dealID, authorID int64, typ string, payload json.RawMessage) (timelineapi.Activity, error)
	EditComment(ctx context.Context, e timelineapi.CommentEdit) (timelineapi.Activity, error)
	DeleteComment(ctx context.Context, r timelineapi.CommentRemoval) error
	Render(a timelineapi.Activity) any
}

// Outbox is what this module uses of the change feed (platform/events.Outbox).
type Outbox interface {
	Record(ctx context.Context, c events.Change) (int64, error)
}

// Service implements the deal use cases, the deals facade and the contacts' DealLinks.
type Service struct {
	db        *database.DB
	store     store
	contacts  Contacts
	orgs      Orgs
	pipelines Pipelines
	timeline  Timeline
	outbox    Outbox
	publish   func(dealsapi.DealsChanged)
	emit      func(context.Context, dealsapi.DealWritten) error
	// emitDeleting runs the handlers of DealDeleting (the tasks' events) in the delete's
	// transaction.
	emitDeleting func(context.Context, dealsapi.DealDeleting) error
	// emitRestoring runs the handlers of DealRestoring (the tasks that come back with the deal)
	// in the restore's transaction.
	emitRestoring func(context.Context, dealsapi.DealRestoring) error
	// trash records the deals DELETE moves to the trash.
	trash Trash
	// emitMoved runs the handlers of DealsMoved (the reports' cache) in a merge's transaction.
	emitMoved func(context.Context, dealsapi.DealsMoved) error
}

var (
	_ dealsapi.Deals           = (*Service)(nil)
	_ contactsapi.DealLinks    = (*Service)(nil)
	_ pipelinesapi.DealCounter = (*Service)(nil)
	_ pipelinesapi.StageMover  = (*Service)(nil)
	_ contactsapi.DealMover    = (*Service)(nil)
)

// NewDeal is a deal to create. Nil fields take their defaults: the caller as owner, the
// organization's default currency, status new, stage qualification.
type NewDeal struct {
	ContactID  int64
	Title      string
	Amount     money.Amount
	Currency   *string
	Status     *string
	Stage      *string
	OwnerID    *int64
	LostReason *string
	// ExpectedCloseDate is midnight UTC of the date; Probability overrides the stage's.
	ExpectedCloseDate *time.Time
	Probability       *int
	// PipelineID is the pipeline, nil for the organization's default; a nil Stage is that
	// pipeline's first stage.
	PipelineID *int64
}

// Patch is a partial update: nil fields stay as they are; LostReason may also be cleared.
type Patch struct {
	Title      *string
	Amount     *money.Amount
	Currency   *string
	Status     *string
	Stage      *string
	ContactID  *int64
	OwnerID    *int64
	LostReason patch.Optional[string]
	// ExpectedCloseDate (midnight UTC of the date) and Probability may also be cleared.
	ExpectedCloseDate patch.Optional[time.Time]
	Probability       patch.Optional[int]
	// PipelineID moves the deal to another pipeline: to Stage, or that pipeline's first stage.
	PipelineID *int64
}

// ListFilter narrows and orders the deal list. Values are already validated.
type ListFilter struct {
	Statuses  []string
	Stages    []string
	MinAmount *money.Amount
	MaxAmount *money.Amount
	OwnerID   *int64
	ContactID *int64
	// PipelineID narrows to one pipeline; Stages are then its keys, else keys of any pipeline.
	PipelineID *int64
	// ExpectedCloseAfter and ExpectedCloseBefore are inclusive dates (midnight UTC).
	ExpectedCloseAfter  *time.Time
	ExpectedCloseBefore *time.Time
	Search              string // a case-insensitive substring of the title
	Rotten              bool   // open deals whose current visit is older than their stage's rotten_days
	OrderBy             string // created_at (default), updated_at, amount, title, expected_close_date
	Desc                bool
}

// rottenAt is, for one stage with rotten_days, the time before which a deal entering it is
// rotten now.
type rottenAt struct {
	PipelineID int64
	Stage      string
	Before     time.Time
}

// written emits DealWritten in the transaction of ctx, so that the handlers (the analytics
// read model) commit or roll back with the write.
func (s *Service) written(ctx context.Context, e dealsapi.DealWritten) error {
	if s.emit == nil {
		return nil
	}
	return s.emit(ctx, e)
}

// record writes the event of a deal change in the transaction of ctx: the deal as its GET
// renders it after the change (for a delete, its last state) and, for an update, before.
func (s *Service) record(ctx context.Context, typ string, after Deal, before *Deal) error {
	if s.outbox == nil {
		return nil
	}
	c := events.Change{OrgID: after.OrganizationID, Type: typ, Object: toJSON(after)}
	if before != nil {
		c.Before = toJSON(*before)
	}
	_, err := s.outbox.Record(ctx, c)
	return err
}

// changed announces a write of the organization's deals once the transaction of ctx (the
// request's, when the write is part of a larger unit of work) has committed.
func (s *Service) changed(ctx context.Context, orgID int64) {
	if s.publish != nil {
		database.AfterCommit(ctx, func() { s.publish(dealsapi.DealsChanged{OrgID: orgID}) })
	}
}

// List returns a page of the organization's deals.
func (s *Service) List(ctx context.Context, f ListFilter, w listing.Window) (database.Result[Deal], error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return database.Result[Deal]{}, err
	}
	rotten, err := s.checkFilter(ctx, p, f)
	if err != nil {
		return database.Result[Deal]{}, err
	}
	return s.store.list(ctx, p.OrgID, f, rotten, w)
}

// checkFilter checks the list's filter as the caller p gives it (the owner filter, the
// pipeline and the stage keys) and returns, for rotten=true, the rotten limit of every stage
// that has one.
func (s *Service) checkFilter(ctx context.Context, p auth.Principal, f ListFilter) ([]rottenAt, error) {
	if err := auth.CheckOwnerFilter(p.Role, f.OwnerID); err != nil {
		return nil, err
	}
	pls, err := s.pipelines.Pipelines(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	if f.PipelineID != nil {
		i := slices.IndexFunc(pls, func(pl pipelinesapi.Pipeline) bool { return pl.ID == *f.PipelineID })
		if i < 0 {
			return nil, pipelinesapi.ErrPipelineNotFound
		}
		pls = pls[i : i+1]
	}
	var keys []string
	for _, pl := range pls {
		for _, k := range pl.Keys() {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	for _, st := range f.Stages {
		if !slices.Contains(keys, st) {
			msg := "must be one of: " + strings.Join(keys, ", ")
			return nil, apperr.InvalidField("invalid_query", "stage", msg, "stage "+msg)
		}
	}
	var rotten []rottenAt
	if f.Rotten {
		now := time.Now()
		for _, pl := range pls {
			for _, st := range pl.Stages {
				if st.RottenDays != nil {
					rotten = append(rotten, rottenAt{PipelineID: pl.ID, Stage: st.Key, Before: now.AddDate(0, 0, -*st.RottenDays)})
				}
			}
		}
	}
	return rotten, nil
}

// Get returns one deal of the organization.
func (s *Service) Get(ctx context.Context, id int64) (Deal, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Deal{}, err
	}
	return s.store.get(ctx, p.OrgID, id, noLock)
}

// Location returns the time zone of the caller's organization, in which a date-time given for
// a date is read.
func (s *Service) Location(ctx context.Context) (*time.Location, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.orgs.Organization(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	return o.Location(), nil
}

// Create adds a deal and records its creation on the timeline, in one transaction.
func (s *Service) Create(ctx context.Context, in NewDeal) (Deal, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Deal{}, err
	}
	d := Deal{OrganizationID: p.OrgID, ContactID: in.ContactID, OwnerID: p.UserID, Title: in.Title, Amount: in.Amount,
		Status: dealsapi.StatusNew, LostReason: in.LostReason,
		ExpectedCloseDate: in.ExpectedCloseDate, Probability: in.Probability}
	if in.OwnerID != nil {
		d.OwnerID = *in.OwnerID
	}
	if in.Status != nil {
		d.Status = *in.Status
	}
	if err := ownership.CheckCreate(p, d.OwnerID); err != nil {
		return Deal{}, err
	}
	if err := checkWon(nil, d.state()); err != nil {
		return Deal{}, err
	}
	var out Deal
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		pl, err := s.pipelineOf(ctx, p.OrgID, in.PipelineID)
		if err != nil {
			return err
		}
		d.PipelineID, d.Stage = pl.ID, pl.First().Key
		if in.Stage != nil {
			if _, ok := pl.StageByKey(*in.Stage); !ok {
				return pipelinesapi.UnknownStage("stage", pl.Keys())
			}
			d.Stage = *in.Stage
		}
		d.MaxStage = maxStage(0, d.Stage)
		if in.Currency != nil {
			d.Currency = *in.Currency
		} else {
			org, err := s.orgs.Organization(ctx, p.OrgID)
			if err != nil {
				return err
			}
			d.Currency = org.DefaultCurrency
		}
		out, err = s.store.insert(ctx, d)
		if err != nil {
			return err
		}
		// The contact is read after the insert: the insert's foreign key check waited for a
		// delete of the contact in flight (its row lock), so this read sees a contact that
		// went to the trash meanwhile, and the deal is refused instead of pointing at it.
		if _, err := s.contacts.Contact(ctx, p.OrgID, d.ContactID); err != nil {
			return err
		}
		if err := s.record(ctx, "deal.created", out, nil); err != nil {
			return err
		}
		_, err = s.timeline.Append(ctx, timelineapi.NewActivity{OrgID: p.OrgID, DealID: out.ID, Type: timelineapi.TypeSystem,
			Payload: map[string]string{"event": "deal_created"}})
		if err != nil {
			return err
		}
		// The insert gave the deal its first stage visit (a trigger): it visited its stage.
		return s.written(ctx, dealsapi.DealWritten{OrgID: p.OrgID, DealID: out.ID, After: out.factsVisited([]string{out.Stage})})
	})
	if err != nil {
		return Deal{}, err
	}
	s.changed(ctx, p.OrgID)
	return out, nil
}

// Update applies a partial update. The row is locked first and every decision (ownership,
// If-Match, rules, which activities to record) is taken on the locked row, so concurrent
// updates of one deal serialise and never record a change that did not happen.
// expect is the version the caller read (If-Match); a deal that has changed since is refused.
func (s *Service) Update(ctx context.Context, id int64, patch Patch, expect patch.Precondition) (Deal, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return Deal{}, err
	}
	var out Deal
	wrote := false
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.get(ctx, p.OrgID, id, forUpdate)
		if err != nil {
			return err
		}
		if err := ownership.CheckModify(p, cur.OwnerID); err != nil {
			return err
		}
		if !expect.Matches(cur.ETag()) {
			return ErrPreconditionFailed
		}
		pl, err := s.pipelines.Pipeline(ctx, p.OrgID, cur.PipelineID)
		if err != nil {
			return err
		}
		target, moved := pl, false
		if patch.PipelineID != nil && *patch.PipelineID != cur.PipelineID {
			if target, err = s.pipelines.Pipeline(ctx, p.OrgID, *patch.PipelineID); err != nil {
				return err
			}
			moved = true
			if patch.Stage == nil {
				first := target.First().Key
				patch.Stage = &first
			}
		}
		if patch.Stage != nil {
			if _, ok := target.StageByKey(*patch.Stage); !ok {
				return pipelinesapi.UnknownStage("stage", target.Keys())
			}
		}
		next, set := apply(cur, patch)
		if _, ok := set["owner_id"]; ok {
			if err := ownership.CheckReassign(p, cur.OwnerID, next.OwnerID); err != nil {
				return err
			}
		}
		if !moved {
			from, _ := pl.StageByKey(cur.Stage)
			to, _ := pl.StageByKey(next.Stage)
			if err := checkStageMove(p.Role, from.Position, to.Position); err != nil {
				return err
			}
		}
		prev := cur.state()
		if err := checkWon(&prev, next.state()); err != nil {
			return err
		}
		if len(set) == 0 {
			out = cur
			return nil
		}
		visitedBefore, err := s.store.visited(ctx, p.OrgID, id, cur.PipelineID)
		if err != nil {
			return err
		}
		out, err = s.store.update(ctx, p.OrgID, id, set)
		if err != nil {
			return err
		}
		// After the write, as in Create: a contact that went to the trash while the update's
		// foreign key check waited for it is seen here.
		if _, ok := set["contact_id"]; ok {
			if _, err := s.contacts.Contact(ctx, p.OrgID, next.ContactID); err != nil {
				return err
			}
		}
		if err := s.store.recordVisits(ctx, cur, out); err != nil {
			return err
		}
		visitedAfter, err := s.store.visited(ctx, p.OrgID, id, out.PipelineID)
		if err != nil {
			return err
		}
		if err := s.record(ctx, "deal.updated", out, &cur); err != nil {
			return err
		}
		for _, c := range changes(cur.state(), out.state()) {
			if _, err := s.timeline.Append(ctx, timelineapi.NewActivity{OrgID: p.OrgID, DealID: id, AuthorID: &p.UserID,
				Type: c.Type, Payload: c.payload()}); err != nil {
				return err
			}
		}
		if out.PipelineID != cur.PipelineID {
			if _, err := s.timeline.Append(ctx, timelineapi.NewActivity{OrgID: p.OrgID, DealID: id, AuthorID: &p.UserID,
				Type:    timelineapi.TypePipelineChanged,
				Payload: pipelineMove(cur.PipelineID, cur.Stage, out.PipelineID, out.Stage)}); err != nil {
				return err
			}
		}
		if err := s.recordFieldChanges(ctx, p.UserID, cur, out); err != nil {
			return err
		}
		if before, after := cur.factsVisited(visitedBefore), out.factsVisited(visitedAfter); !sameFacts(before, after) {
			if err := s.written(ctx, dealsapi.DealWritten{OrgID: p.OrgID, DealID: id, Before: before, After: after}); err != nil {
				return err
			}
		}
		wrote = true
		return nil
	})
	if err != nil {
		return Deal{}, err
	}
	if wrote {
		s.changed(ctx, p.OrgID)
	}
	return out, nil
}

// apply returns the deal as the patch would leave it and the columns that really change.
func apply(cur Deal, patch Patch) (Deal, map[string]any) {
	next := cur
	set := map[string]any{}
	if patch.Title != nil && *patch.Title != cur.Title {
		next.Title, set["title"] = *patch.Title, *patch.Title
	}
	if patch.Amount != nil && !patch.Amount.Equal(cur.Amount) {
		next.Amount, set["amount"] = *patch.Amount, *patch.Amount
	}
	if patch.Currency != nil && *patch.Currency != cur.Currency {
		next.Currency, set["currency"] = *patch.Currency, *patch.Currency
	}
	if patch.Status != nil && *patch.Status != cur.Status {
		next.Status, set["status"] = *patch.Status, *patch.Status
	}
	if patch.Stage != nil && *patch.Stage != cur.Stage {
		next.Stage, set["stage"] = *patch.Stage, *patch.Stage
		next.MaxStage = maxStage(cur.MaxStage, next.Stage)
	}
	if patch.PipelineID != nil && *patch.PipelineID != cur.PipelineID {
		next.PipelineID, set["pipeline_id"] = *patch.PipelineID, *patch.PipelineID
	}
	if patch.ContactID != nil && *patch.ContactID != cur.ContactID {
		next.ContactID, set["contact_id"] = *patch.ContactID, *patch.ContactID
	}
	if patch.OwnerID != nil && *patch.OwnerID != cur.OwnerID {
		next.OwnerID, set["owner_id"] = *patch.OwnerID, *patch.OwnerID
	}
	if patch.LostReason.Set {
		v := patch.LostReason.Ptr()
		if (v == nil) != (cur.LostReason == nil) || (v != nil && *v != *cur.LostReason) {
			next.LostReason, set["lost_reason"] = v, v
		}
	}
	if patch.ExpectedCloseDate.Set {
		v := patch.ExpectedCloseDate.Ptr()
		if (v == nil) != (cur.ExpectedCloseDate == nil) || (v != nil && !v.Equal(*cur.ExpectedCloseDate)) {
			next.ExpectedCloseDate, set["expected_close_date"] = v, v
		}
	}
	if patch.Probability.Set {
		v := patch.Probability.Ptr()
		if (v == nil) != (cur.Probability == nil) || (v != nil && *v != *cur.Probability) {
			next.Probability, set["probability"] = v, v
		}
	}
	return next, set
}

// pipelineOf returns the pipeline with the id, or the organization's default for nil.
func (s *Service) pipelineOf(ctx context.Context, orgID int64, id *int64) (pipelinesapi.Pipeline, error) {
	if id == nil {
		return s.pipelines.Default(ctx, orgID)
	}
	return s.pipelines.Pipeline(ctx, orgID, *id)
}

// Activities lists the deal's timeline, newest first. Anyone in the organization may read it.
func (s *Service) Activities(ctx context.Context, dealID int64, w listing.Window) (listing.Result[timelineapi.Activity], error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return listing.Result[timelineapi.Activity]{}, err
	}
	if _, err := s.store.get(ctx, p.OrgID, dealID, noLock); err != nil {
		return listing.Result[timelineapi.Activity]{}, err
	}
	return s.timeline.List(ctx, p.OrgID, dealID, w)
}

// onTimeline runs fn, a write of the deal's timeline by the tenant caller, in a transaction
// that key-share locks the deal first: the deal, and so its timeline, stays until the write is
// in, and a deal of another organization or none is ErrDealNotFound before anything happens.
func (s *Service) onTimeline(ctx context.Context, dealID int64, fn func(ctx context.Context, p auth.Principal) error) error {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return err
	}
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.get(ctx, p.OrgID, dealID, forKeyLock); err != nil {
			return err
		}
		return fn(ctx, p)
	})
}

// Comment adds a client's activity to the deal's timeline. Every member may comment on every
// deal: a comment changes no record.
func (s *Service) Comment(ctx context.Context, dealID int64, typ string, payload json.RawMessage) (timelineapi.Activity, error) {
	var out timelineapi.Activity
	err := s.onTimeline(ctx, dealID, func(ctx context.Context, p auth.Principal) (err error) {
		out, err = s.timeline.Comment(ctx, p.OrgID, dealID, p.UserID, typ, payload)
		return err
	})
	return out, err
}

// EditComment changes the text of a comment on the deal's timeline. Anyone who reads the
// timeline may try; the timeline lets only the comment's author.
func (s *Service) EditComment(ctx context.Context, dealID, id int64, payload json.RawMessage) (timelineapi.Activity, error) {
	var out timelineapi.Activity
	err := s.onTimeline(ctx, dealID, func(ctx context.Context, p auth.Principal) (err error) {
		out, err = s.timeline.EditComment(ctx, timelineapi.CommentEdit{OrgID: p.OrgID, DealID: dealID, ID: id,
			EditorID: p.UserID, Payload: payload})
		return err
	})
	return out, err
}

// DeleteComment removes a comment from the deal's timeline: its author may, and so may
// those who moderate the timeline (canRemoveAnyComment).
func (s *Service) DeleteComment(ctx context.Context, dealID, id int64) error {
	return s.onTimeline(ctx, dealID, func(ctx context.Context, p auth.Principal) error {
		return s.timeline.DeleteComment(ctx, timelineapi.CommentRemoval{OrgID: p.OrgID, DealID: dealID, ID: id,
			UserID: p.UserID, AnyAuthor: canRemoveAnyComment(p.Role)})
	})
}

// Deal implements dealsapi.Deals.
//
// Inside a transaction the deal is share-locked: a caller deciding on its owner (tasks) keeps
// that owner until it commits, and waits for a reassignment in flight instead of deciding
// on the owner it replaces.
func (s *Service) Deal(ctx context.Context, orgID, dealID int64) (dealsapi.Deal, error) {
	lock := noLock
	if database.InTx(ctx) {
		lock = forShare
	}
	d, err := s.store.get(ctx, orgID, dealID, lock)
	if err != nil {
		return dealsapi.Deal{}, err
	}
	return d.public(), nil
}

// CountCreatedBetween implements dealsapi.Deals.
func (s *Service) CountCreatedBetween(ctx context.Context, orgID int64, from, to time.Time) (int64, error) {
	return s.store.countCreatedBetween(ctx, orgID, from, to)
}

// CountCreatedInPipelineBetween implements dealsapi.Deals.
func (s *Service) CountCreatedInPipelineBetween(ctx context.Context, orgID, pipelineID int64, from, to time.Time) (int64, error) {
	return s.store.countCreatedInPipelineBetween(ctx, orgID, pipelineID, from, to)
}

// CountDealsOfContact implements contactsapi.DealLinks.
func (s *Service) CountDealsOfContact(ctx context.Context, orgID, contactID int64) (int64, error) {
	return s.store.countByContact(ctx, orgID, contactID)
}

// CountDealsInPipeline implements pipelinesapi.DealCounter. Deals in the trash count: they
// still belong to the pipeline and come back to it when restored.
func (s *Service) CountDealsInPipeline(ctx context.Context, orgID, pipelineID int64) (int64, error) {
	return s.countWithTrash(ctx, orgID, pipelineID, nil)
}

// CountDealsAtStage implements pipelinesapi.DealCounter. Deals in the trash count, as in
// CountDealsInPipeline; a move_to takes them along (MoveDealsBetweenStages).
func (s *Service) CountDealsAtStage(ctx context.Context, orgID, pipelineID int64, stageKey string) (int64, error) {
	return s.countWithTrash(ctx, orgID, pipelineID, &stageKey)
}

// countWithTrash counts the deals of a pipeline (of one stage when stage is set), those in
// the trash included, in a transaction of its own or the one of ctx, which goes on seeing
// live deals only.
func (s *Service) countWithTrash(ctx context.Context, orgID, pipelineID int64, stage *string) (int64, error) {
	var n int64
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		return database.WithTrashed(ctx, func() (err error) {
			n, err = s.store.countInPipeline(ctx, orgID, pipelineID, stage)
			return err
		})
	})
	return n, err
}

// MoveDealsBetweenStages implements pipelinesapi.StageMover: in the transaction of ctx, every
// deal of the pipeline at stage from goes to stage to as a PATCH of its stage would take it
// (stage_entered_at, the furthest stage, the change feed, the read model), with a
// stage_changed activity on its timeline by the caller. The pipelines module has checked
// the caller's role and that to is a stage of the pipeline.
func (s *Service) MoveDealsBetweenStages(ctx context.Context, orgID, pipelineID int64, from, to string) (int64, error) {
	var author *int64
	if p, err := auth.TenantCaller(ctx); err == nil {
		author = &p.UserID
	}
	var n int64
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		deals, err := s.store.lockAtStage(ctx, orgID, pipelineID, from)
		if err != nil {
			return err
		}
		// Deals in the trash at that stage move too, quietly, so that none comes back at a
		// stage the pipeline no longer has.
		if err := s.store.moveTrashedAtStage(ctx, orgID, pipelineID, from, to); err != nil {
			return err
		}
		for _, cur := range deals {
			visitedBefore, err := s.store.visited(ctx, orgID, cur.ID, pipelineID)
			if err != nil {
				return err
			}
			out, err := s.store.update(ctx, orgID, cur.ID, map[string]any{"stage": to})
			if err != nil {
				return err
			}
			if err := s.store.recordVisits(ctx, cur, out); err != nil {
				return err
			}
			visitedAfter := visitedBefore
			if !slices.Contains(visitedBefore, to) {
				visitedAfter = append(slices.Clone(visitedBefore), to)
				slices.Sort(visitedAfter)
			}
			if err := s.record(ctx, "deal.updated", out, &cur); err != nil {
				return err
			}
			c := change{Type: timelineapi.TypeStageChanged, From: from, To: to}
			if _, err := s.timeline.Append(ctx, timelineapi.NewActivity{OrgID: orgID, DealID: cur.ID, AuthorID: author,
				Type: c.Type, Payload: c.payload()}); err != nil {
				return err
			}
			if before, after := cur.factsVisited(visitedBefore), out.factsVisited(visitedAfter); !sameFacts(before, after) {
				if err := s.written(ctx, dealsapi.DealWritten{OrgID: orgID, DealID: cur.ID, Before: before, After: after}); err != nil {
					return err
				}
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.changed(ctx, orgID)
	}
	return n, nil
}
