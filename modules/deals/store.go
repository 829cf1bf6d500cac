package deals

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/money"
)

// Deal is a deal as this module works with it (and a row of the deals table).
type Deal struct {
	ID             int64        `db:"id"`
	OrganizationID int64        `db:"organization_id"`
	ContactID      int64        `db:"contact_id"`
	OwnerID        int64        `db:"owner_id"`
	Title          string       `db:"title"`
	Amount         money.Amount `db:"amount"`
	Currency       string       `db:"currency"`
	Status         string       `db:"status"`
	Stage          string       `db:"stage"`
	MaxStage       int          `db:"max_stage"` // position in dealsapi.Pipeline
	LostReason     *string      `db:"lost_reason"`
	CreatedAt      time.Time    `db:"created_at"`
	UpdatedAt      time.Time    `db:"updated_at"`
	PipelineID     int64        `db:"pipeline_id"`
	// ExpectedCloseDate is midnight UTC of the date, nil when none is set.
	ExpectedCloseDate *time.Time `db:"expected_close_date"`
	// Probability is the deal's override of its stage's probability, nil when it has none.
	Probability *int `db:"probability"`
	// EffectiveProbability is Probability, else the probability of the deal's stage in its
	// pipeline (computed when the row is read, never stored).
	EffectiveProbability int        `db:"effective_probability"`
	ClosedAt             *time.Time `db:"closed_at"`
	StageEnteredAt       time.Time  `db:"stage_entered_at"`
	// DeletedAt is set while the deal is in the trash (only a transaction that includes the
	// trash sees such a row).
	DeletedAt *time.Time `db:"deleted_at"`
}

// dealColumnNames are the names of dealCols as a statement's result names them.
var dealColumnNames = func() []string {
	out := make([]string, len(dealCols))
	for i, c := range dealCols {
		if _, as, ok := strings.Cut(c, " AS "); ok {
			c = as
		}
		out[i] = c
	}
	return out
}()

// Columns and ScanTargets make a Deal a database.PositionalRow: every statement of this
// package reads dealCols, so its rows are scanned by position, in that order.
func (d *Deal) Columns() []string { return dealColumnNames }

// ScanTargets returns the fields in the order of dealCols.
func (d *Deal) ScanTargets() []any {
	return []any{&d.ID, &d.OrganizationID, &d.ContactID, &d.OwnerID, &d.Title, &d.Amount, &d.Currency,
		&d.Status, &d.Stage, &d.MaxStage, &d.LostReason, &d.CreatedAt, &d.UpdatedAt,
		&d.PipelineID, &d.ExpectedCloseDate, &d.Probability, &d.EffectiveProbability, &d.ClosedAt, &d.StageEnteredAt, &d.DeletedAt}
}

// ETag is the deal's strong entity tag, quoted.
func (d Deal) ETag() string { return etag(d) }

func (d Deal) state() state {
	return state{Status: d.Status, Stage: d.Stage, Amount: d.Amount, Pipeline: d.PipelineID}
}

// public is the deal as other modules see it: the amount as an exact decimal and the stages
// with their positions in the pipeline (dealsapi.Pipeline).
func (d Deal) public() dealsapi.Deal {
	stage := dealsapi.Stage{Key: d.Stage, Position: dealsapi.StageOrdinal(d.Stage)}
	ms, _ := dealsapi.StageAt(d.MaxStage)
	return dealsapi.Deal{ID: d.ID, OrganizationID: d.OrganizationID, ContactID: d.ContactID, OwnerID: d.OwnerID,
		Title: d.Title, Amount: d.Amount, Currency: d.Currency, Status: d.Status, Stage: stage,
		MaxStage: ms, LostReason: d.LostReason, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, DeletedAt: d.DeletedAt}
}

// facts are what DealWritten reports of the deal.
func (d Deal) facts() *dealsapi.DealFacts {
	p := d.public()
	return &dealsapi.DealFacts{PipelineID: d.PipelineID, Status: p.Status, Stage: p.Stage, MaxStage: p.MaxStage, Currency: p.Currency,
		Amount: p.Amount, CreatedAt: p.CreatedAt, ExpectedCloseDate: d.ExpectedCloseDate, Probability: d.Probability, ClosedAt: d.ClosedAt}
}

// factsVisited are the facts of the deal, which visited the stages visited of its pipeline.
func (d Deal) factsVisited(visited []string) *dealsapi.DealFacts {
	f := d.facts()
	f.Visited = visited
	return f
}

// sameFacts reports whether a and b report the same facts.
func sameFacts(a, b *dealsapi.DealFacts) bool {
	return a.PipelineID == b.PipelineID && a.Status == b.Status && a.Stage == b.Stage && a.MaxStage == b.MaxStage && a.Currency == b.Currency &&
		a.Amount.Equal(b.Amount) && a.CreatedAt.Equal(b.CreatedAt) && sameTime(a.ExpectedCloseDate, b.ExpectedCloseDate) &&
		samePtr(a.Probability, b.Probability) && sameTime(a.ClosedAt, b.ClosedAt) && slices.Equal(a.Visited, b.Visited)
}

func sameTime(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }

func samePtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

var dealCols = []string{"id", "organization_id", "contact_id", "owner_id", "title", "amount", "currency",
	"status", "stage", "max_stage", "lost_reason", "created_at", "updated_at",
	"pipeline_id", "expected_close_date", "probability", effectiveProbability, "closed_at", "stage_entered_at", "deleted_at"}

// effectiveProbability is the deal's override, else its stage's probability, which the
// pipelines module's function reports.
const effectiveProbability = "coalesce(probability, pipelines_stage_probability(organization_id, pipeline_id, stage), 0) AS effective_probability"

var returning = "RETURNING " + strings.Join(dealCols, ", ")

// Row locks taken by get.
const (
	noLock     = ""
	forUpdate  = "FOR UPDATE"
	forKeyLock = "FOR KEY SHARE" // keeps the deal from being deleted, blocks no update
	forShare   = "FOR SHARE"     // keeps the deal as read (owner included) until the reader commits
)

// store holds the deals table. Every method filters by the organization it is given.
type store struct{ db *database.DB }

// mapWriteError turns the composite foreign keys into the errors a client understands.
func mapWriteError(err error) error {
	if database.PgCode(err) != database.CodeForeignKeyViolation {
		return err
	}
	switch database.Constraint(err) {
	case "deals_contact_fkey":
		return contactsapi.ErrContactNotFound.Wrap(err)
	case "deals_owner_fkey":
		return orgsapi.ErrOwnerNotMember.Wrap(err)
	}
	return err
}

func (s store) insert(ctx context.Context, d Deal) (Deal, error) {
	q := database.SQL.Insert("deals").
		Columns("organization_id", "contact_id", "owner_id", "title", "amount", "currency", "status", "stage", "max_stage", "lost_reason",
			"pipeline_id", "expected_close_date", "probability").
		Values(d.OrganizationID, d.ContactID, d.OwnerID, d.Title, d.Amount, d.Currency, d.Status, d.Stage, d.MaxStage, d.LostReason,
			d.PipelineID, d.ExpectedCloseDate, d.Probability).
		Suffix(returning)
	r, err := database.Get[Deal](ctx, s.db.Q(ctx), q)
	if err != nil {
		return r, fmt.Errorf("insert deal: %w", mapWriteError(err))
	}
	return r, nil
}

// getSQL is the statement of get for each lock, built once: the deal by id, most requests'
// only statement, was rebuilt by the query builder on every call (8 % of a get's CPU in the
// service under load). Its arguments are the id, then the organization (sq.Eq orders the
// columns by name).
var getSQL = func() map[string]string {
	m := map[string]string{}
	for _, lock := range []string{noLock, forUpdate, forKeyLock, forShare} {
		q := database.SQL.Select(dealCols...).From("deals").Where(sq.Eq{"organization_id": 0, "id": 0})
		if lock != noLock {
			q = q.Suffix(lock)
		}
		text, _, err := q.ToSql()
		if err != nil {
			panic(err)
		}
		m[lock] = text
	}
	return m
}()

func (s store) get(ctx context.Context, orgID, id int64, lock string) (Deal, error) {
	text, ok := getSQL[lock]
	if !ok {
		return Deal{}, fmt.Errorf("get deal: unknown lock %q", lock)
	}
	r, err := database.Get[Deal](ctx, s.db.Q(ctx), sq.Expr(text, id, orgID))
	if database.IsNoRows(err) {
		return r, dealsapi.ErrDealNotFound
	}
	if err != nil {
		return r, fmt.Errorf("get deal: %w", err)
	}
	return r, nil
}

// update writes the given columns and bumps updated_at. A stage change raises max_stage in
// the same statement, so the furthest stage reached can never lag behind the stage.
// updated_at is the time of the write rather than of the transaction start, because a
// writer may have waited for the row lock behind another one that started later.
func (s store) update(ctx context.Context, orgID, id int64, set map[string]any) (Deal, error) {
	u := database.SQL.Update("deals").SetMap(set).Set("updated_at", sq.Expr("clock_timestamp()")).
		Where(sq.Eq{"organization_id": orgID, "id": id}).Suffix(returning)
	if stage, ok := set["stage"].(string); ok {
		u = u.Set("max_stage", sq.Expr("GREATEST(max_stage, ?::smallint)", dealsapi.StageOrdinal(stage)))
	}
	_, stageSet := set["stage"]
	_, pipelineSet := set["pipeline_id"]
	if stageSet || pipelineSet {
		u = u.Set("stage_entered_at", sq.Expr("clock_timestamp()"))
	}
	if status, ok := set["status"].(string); ok {
		if closedStatus(status) {
			u = u.Set("closed_at", sq.Expr("clock_timestamp()"))
		} else {
			u = u.Set("closed_at", nil)
			if !stageSet && !pipelineSet {
				// Reopening a won or lost deal starts a new visit of its stage (recordVisits),
				// so its current visit, which the rotten filter reads, starts now too.
				u = u.Set("stage_entered_at", sq.Expr("CASE WHEN status IN ('won', 'lost') THEN clock_timestamp() ELSE stage_entered_at END"))
			}
		}
	}
	r, err := database.Get[Deal](ctx, s.db.Q(ctx), u)
	if database.IsNoRows(err) {
		return r, dealsapi.ErrDealNotFound
	}
	if err != nil {
		return r, fmt.Errorf("update deal: %w", mapWriteError(err))
	}
	return r, nil
}

func (s store) countByContact(ctx context.Context, orgID, contactID int64) (int64, error) {
	n, err := database.Scalar[int64](ctx, s.db.Q(ctx), database.SQL.Select("count(*)").From("deals").
		Where(sq.Eq{"organization_id": orgID, "contact_id": contactID}))
	if err != nil {
		return 0, fmt.Errorf("count deals of contact: %w", err)
	}
	return n, nil
}

// recordVisits keeps the stage history in step with a write that took the deal from cur to
// out, in the transaction of ctx. A stage or pipeline change ends the open visit and starts
// one of the new stage (ended at once when the deal is closed); closing the deal (won or
// lost) ends its open visit; reopening it starts a visit of its stage.
func (s store) recordVisits(ctx context.Context, cur, out Deal) error {
	moved := cur.Stage != out.Stage || cur.PipelineID != out.PipelineID
	wasClosed, closed := closedStatus(cur.Status), closedStatus(out.Status)
	if !moved && wasClosed == closed {
		return nil
	}
	at := out.UpdatedAt
	if moved || (wasClosed && !closed) {
		at = out.StageEnteredAt // a move, or a reopening: the visit the deal starts now
	}
	q := s.db.Q(ctx)
	if !wasClosed {
		if _, err := database.Exec(ctx, q, database.SQL.Update("deal_stage_history").Set("left_at", sq.Expr("greatest(?::timestamptz, entered_at)", at)).
			Where(sq.Eq{"organization_id": out.OrganizationID, "deal_id": out.ID, "left_at": nil})); err != nil {
			return fmt.Errorf("end stage visit: %w", err)
		}
	}
	if !moved && closed {
		return nil
	}
	var left any
	if closed {
		left = at
	}
	if _, err := database.Exec(ctx, q, database.SQL.Insert("deal_stage_history").
		Columns("organization_id", "deal_id", "pipeline_id", "stage", "entered_at", "left_at").
		Values(out.OrganizationID, out.ID, out.PipelineID, out.Stage, at, left)); err != nil {
		return fmt.Errorf("start stage visit: %w", err)
	}
	return nil
}

// countInPipeline counts the deals of a pipeline, or of one of its stages when stage is set.
func (s store) countInPipeline(ctx context.Context, orgID, pipelineID int64, stage *string) (int64, error) {
	where := sq.Eq{"organization_id": orgID, "pipeline_id": pipelineID}
	if stage != nil {
		where["stage"] = *stage
	}
	n, err := database.Scalar[int64](ctx, s.db.Q(ctx), database.SQL.Select("count(*)").From("deals").Where(where))
	if err != nil {
		return 0, fmt.Errorf("count deals of pipeline: %w", err)
	}
	return n, nil
}

// lockAtStage locks and returns the deals of a pipeline at a stage, in id order.
func (s store) lockAtStage(ctx context.Context, orgID, pipelineID int64, stage string) ([]Deal, error) {
	rows, err := database.Select[Deal](ctx, s.db.Q(ctx), database.SQL.Select(dealCols...).From("deals").
		Where(sq.Eq{"organization_id": orgID, "pipeline_id": pipelineID, "stage": stage, "deleted_at": nil}).OrderBy("id").Suffix(forUpdate))
	if err != nil {
		return nil, fmt.Errorf("lock deals at stage: %w", err)
	}
	return rows, nil
}

func (s store) countCreatedBetween(ctx context.Context, orgID int64, from, to time.Time) (int64, error) {
	n, err := database.Scalar[int64](ctx, s.db.Q(ctx), database.SQL.Select("count(*)").From("deals").
		Where(sq.Eq{"organization_id": orgID}).Where(sq.GtOrEq{"created_at": from}).Where(sq.Lt{"created_at": to}))
	if err != nil {
		return 0, fmt.Errorf("count deals created between: %w", err)
	}
	return n, nil
}

func (s store) countCreatedInPipelineBetween(ctx context.Context, orgID, pipelineID int64, from, to time.Time) (int64, error) {
	n, err := database.Scalar[int64](ctx, s.db.Q(ctx), database.SQL.Select("count(*)").From("deals").
		Where(sq.Eq{"organization_id": orgID, "pipeline_id": pipelineID}).Where(sq.GtOrEq{"created_at": from}).Where(sq.Lt{"created_at": to}))
	if err != nil {
		return 0, fmt.Errorf("count deals of pipeline created between: %w", err)
	}
	return n, nil
}

// Orders are the orders of the list, the first the default (newest first unless order=asc).
var Orders = []string{"created_at", "updated_at", "amount", "title", "expected_close_date"}

// orderColumns whitelists the orders of the list; the map keys are the API's names.
var orderColumns = map[string]string{
	"created_at": "created_at",
	"updated_at": "updated_at",
	"amount":     "amount",
	"title":      "title",
	// Deals without an expected close date sort after every date.
	"expected_close_date": closeDateKey,
}

// closeDateKey is the expression deals are ordered by for order_by=expected_close_date.
const closeDateKey = "coalesce(expected_close_date, 'infinity'::date)"

// listOrder is the order of the list by one of the whitelisted columns, id last.
func listOrder(orderBy string, desc bool) (database.Order, func(Deal) []string) {
	col, ok := orderColumns[orderBy]
	if !ok {
		col = "created_at"
	}
	types := map[string]string{"created_at": "timestamptz", "updated_at": "timestamptz", "amount": "numeric", "title": "text",
		closeDateKey: "date"}
	dir := "asc"
	if desc {
		dir = "desc"
	}
	name := col
	if col == closeDateKey {
		name = "expected_close_date"
	}
	o := database.Order{Key: "deals:" + name + ":" + dir, Desc: desc,
		Cols: []database.KeyCol{{Expr: col, Type: types[col]}, {Expr: "id", Type: "bigint"}}}
	key := func(d Deal) []string {
		var v string
		switch col {
		case "created_at":
			v = database.TimeKey(d.CreatedAt)
		case "updated_at":
			v = database.TimeKey(d.UpdatedAt)
		case "amount":
			v = d.Amount.String()
		case "title":
			v = d.Title
		case closeDateKey:
			v = "infinity"
			if d.ExpectedCloseDate != nil {
				v = d.ExpectedCloseDate.Format(time.DateOnly)
			}
		}
		return []string{v, database.IDKey(d.ID)}
	}
	return o, key
}

// listWhere is the condition of the list's filter, which the export shares.
func listWhere(orgID int64, f ListFilter, rotten []rottenAt) sq.And {
	where := sq.And{sq.Eq{"organization_id": orgID}}
	if len(f.Statuses) > 0 {
		where = append(where, sq.Eq{"status": f.Statuses})
	}
	if len(f.Stages) > 0 {
		where = append(where, sq.Eq{"stage": f.Stages})
	}
	if f.MinAmount != nil {
		where = append(where, sq.GtOrEq{"amount": *f.MinAmount})
	}
	if f.MaxAmount != nil {
		where = append(where, sq.LtOrEq{"amount": *f.MaxAmount})
	}
	if f.OwnerID != nil {
		where = append(where, sq.Eq{"owner_id": *f.OwnerID})
	}
	if f.ContactID != nil {
		where = append(where, sq.Eq{"contact_id": *f.ContactID})
	}
	if f.PipelineID != nil {
		where = append(where, sq.Eq{"pipeline_id": *f.PipelineID})
	}
	if f.ExpectedCloseAfter != nil {
		where = append(where, sq.Expr("expected_close_date >= ?::date", f.ExpectedCloseAfter.Format(time.DateOnly)))
	}
	if f.ExpectedCloseBefore != nil {
		where = append(where, sq.Expr("expected_close_date <= ?::date", f.ExpectedCloseBefore.Format(time.DateOnly)))
	}
	if f.Search != "" {
		where = append(where, sq.Expr("title ILIKE ?", likePattern(f.Search)))
	}
	if f.Rotten {
		any := sq.Or{sq.Expr("false")}
		for _, r := range rotten {
			any = append(any, sq.And{sq.Eq{"pipeline_id": r.PipelineID, "stage": r.Stage}, sq.Lt{"stage_entered_at": r.Before}})
		}
		where = append(where, sq.Eq{"status": []string{dealsapi.StatusNew, dealsapi.StatusInProgress}}, any)
	}
	return where
}

func (s store) list(ctx context.Context, orgID int64, f ListFilter, rotten []rottenAt, w database.Window) (database.Result[Deal], error) {
	if f.Search != "" || f.ExpectedCloseAfter != nil || f.ExpectedCloseBefore != nil {
		// Whether a title search or an expected-close range is walked in the list's order or
		// gathered from its index and sorted depends on how many of the organization's deals
		// match; the generic plan of a prepared statement, made for an average organization
		// and unknown values, picks one for all: a company name among a million deals went
		// from 30-50 ms to 140-180 ms a request after the fifth, a month of expected closes
		// from 17-21 ms to 60-65 ms.
		ctx = database.PlanForValues(ctx)
	}
	where := listWhere(orgID, f, rotten)
	order, key := listOrder(f.OrderBy, f.Desc)
	res, err := database.KeptTotal(w, func() (int64, bool, error) { return s.keptTotal(ctx, orgID, f) },
		func(w database.Window) (database.Result[Deal], error) {
			return database.Paginate(ctx, s.db.Q(ctx),
				database.SQL.Select(dealCols...).From("deals").Where(where),
				database.SQL.Select("count(*)").From("deals").Where(where), order, w, key)
		})
	if err != nil {
		return res, fmt.Errorf("deals: %w", err)
	}
	return res, nil
}
