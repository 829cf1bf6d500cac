package tasks

import (
	"context"
	"fmt"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/tasks/tasksapi"
	"github.com/mini-crm/crm/platform/database"
)

// Task is a task as this module works with it (and a row of the tasks table).
type Task struct {
	ID             int64      `db:"id"`
	OrganizationID int64      `db:"organization_id"`
	DealID         int64      `db:"deal_id"`
	Title          string     `db:"title"`
	Description    *string    `db:"description"`
	DueDate        *time.Time `db:"due_date"` // midnight UTC
	IsDone         bool       `db:"is_done"`
	CreatedAt      time.Time  `db:"created_at"`
	UpdatedAt      time.Time  `db:"updated_at"`
}

var taskCols = []string{"id", "organization_id", "deal_id", "title", "description", "due_date", "is_done", "created_at", "updated_at"}

var returning = "RETURNING " + strings.Join(taskCols, ", ")

// store holds the tasks table. Every method filters by the organization it is given.
type store struct{ db *database.DB }

// mapWriteError turns the deal foreign key into the 404 about the deal: the deal was
// deleted after it was read, or never was in the organization.
func mapWriteError(err error) error {
	if database.PgCode(err) == database.CodeForeignKeyViolation && database.Constraint(err) == "tasks_deal_fkey" {
		return dealsapi.ErrDealNotFound.Wrap(err)
	}
	return err
}

type newTask struct {
	DealID      int64
	Title       string
	Description *string
	DueDate     *time.Time
}

func (s store) insert(ctx context.Context, orgID int64, t newTask) (Task, error) {
	q := database.SQL.Insert("tasks").Columns("organization_id", "deal_id", "title", "description", "due_date").
		Values(orgID, t.DealID, t.Title, t.Description, t.DueDate).Suffix(returning)
	r, err := database.Get[Task](ctx, s.db.Q(ctx), q)
	if err != nil {
		return r, fmt.Errorf("insert task: %w", mapWriteError(err))
	}
	return r, nil
}

func (s store) get(ctx context.Context, orgID, id int64, lock bool) (Task, error) {
	q := database.SQL.Select(taskCols...).From("tasks").Where(sq.Eq{"organization_id": orgID, "id": id})
	if lock {
		q = q.Suffix("FOR UPDATE")
	}
	r, err := database.Get[Task](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, tasksapi.ErrTaskNotFound
	}
	if err != nil {
		return r, fmt.Errorf("get task: %w", err)
	}
	return r, nil
}

// update writes the given columns and bumps updated_at to the time of the write (the
// transaction may have waited for the row lock).
func (s store) update(ctx context.Context, orgID, id int64, set map[string]any) (Task, error) {
	q := database.SQL.Update("tasks").SetMap(set).Set("updated_at", sq.Expr("clock_timestamp()")).
		Where(sq.Eq{"organization_id": orgID, "id": id}).Suffix(returning)
	r, err := database.Get[Task](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, tasksapi.ErrTaskNotFound
	}
	if err != nil {
		return r, fmt.Errorf("update task: %w", err)
	}
	return r, nil
}

func (s store) delete(ctx context.Context, orgID, id int64) error {
	n, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("tasks").Where(sq.Eq{"organization_id": orgID, "id": id}))
	if err != nil {
		return fmt.Errorf("delete task: %w", err)
	}
	if n == 0 {
		return tasksapi.ErrTaskNotFound
	}
	return nil
}

// ofDealLocked returns the tasks of a deal, locked (a deal's delete takes them with it).
func (s store) ofDealLocked(ctx context.Context, orgID, dealID int64) ([]Task, error) {
	q := database.SQL.Select(taskCols...).From("tasks").Where(sq.Eq{"organization_id": orgID, "deal_id": dealID}).
		OrderBy("id").Suffix("FOR UPDATE")
	r, err := database.Select[Task](ctx, s.db.Q(ctx), q)
	if err != nil {
		return nil, fmt.Errorf("tasks of deal: %w", err)
	}
	return r, nil
}

// dueKey orders by due date with undated tasks last, as a total order without NULLs (the
// indexes are built on the same expression).
const dueKey = "coalesce(due_date, 'infinity'::date)"

var listOrder = database.Order{Key: "tasks:due_date:asc",
	Cols: []database.KeyCol{{Expr: dueKey, Type: "date"}, {Expr: "id", Type: "bigint"}}}

func taskKey(t Task) []string {
	due := "infinity"
	if t.DueDate != nil {
		due = t.DueDate.Format(time.DateOnly)
	}
	return []string{due, database.IDKey(t.ID)}
}

// list returns a window of tasks by due date, undated tasks last, then by id.
func (s store) list(ctx context.Context, orgID int64, f ListFilter, w database.Window) (database.Result[Task], error) {
	where := sq.And{sq.Eq{"organization_id": orgID}}
	if f.DealID != nil {
		where = append(where, sq.Eq{"deal_id": *f.DealID})
	}
	if f.OnlyOpen {
		where = append(where, sq.Expr("NOT is_done"))
	}
	// Bounds are written on the due key so the list indexes serve them; an undated task
	// (key infinity) never matches a bound.
	if f.DueBefore != nil {
		where = append(where, sq.Expr(dueKey+" <= ?", *f.DueBefore))
	}
	if f.DueAfter != nil {
		where = append(where, sq.Expr(dueKey+" >= ?", *f.DueAfter), sq.Expr("due_date IS NOT NULL"))
	}
	res, err := database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select(taskCols...).From("tasks").Where(where),
		database.SQL.Select("count(*)").From("tasks").Where(where), listOrder, w, taskKey)
	if err != nil {
		return res, fmt.Errorf("tasks: %w", err)
	}
	return res, nil
}
