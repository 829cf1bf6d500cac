package orgs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/riverqueue/river"

	"github.com/mini-crm/crm/modules/orgs/orgsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/queue"
)

// Deleting an organization happens in two steps. The owner's DELETE closes it at once, in its
// own transaction: from the commit on, the guard's membership query and the API keys' lookup
// refuse it (a condition in the statement they run anyway) and it leaves every
// organizations/me. The same transaction enqueues the erasure, a durable job that removes
// every row carrying the organization's id, in every table that has an organization_id
// column, as the catalog lists them when the job runs (so a table added later is erased
// too), then cancels the organization's pending jobs and deletes the organization itself.
// The job can stop anywhere (a crash, a deploy, its time budget) and its next run carries on:
// the organization stays closed until the job has removed its last row.

// ErrConfirmationMismatch is the 400 of a DELETE of an organization whose confirm parameter
// is missing or is not the organization's name.
var ErrConfirmationMismatch = apperr.InvalidField("confirmation_mismatch", "confirm", "must be the organization's exact name",
	"to delete the organization, pass its exact name, URL-encoded, as the confirm query parameter")

// errNotClosed stops an erasure job of an organization that is not closed: nothing but the
// owner's DELETE may erase an organization.
var errNotClosed = errors.New("orgs: the organization is not closed")

// EraseArgs is the job erasing a closed organization. OrgID is its organization, under the
// name every job of an organization carries it (org_id), so that the erasure finds them.
type EraseArgs struct {
	OrgID int64 `json:"org_id"`
}

// Kind implements river.JobArgs.
func (EraseArgs) Kind() string { return "orgs.erase" }

// InsertOpts makes one erasure per organization wait or run at a time: a second close (the
// hourly sweep) joins the one already queued.
func (EraseArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Default, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// SweepArgs is the hourly job that enqueues the erasure of every closed organization again:
// an erasure River gave up on (the database failing for hours) starts over, so that a closed
// organization is always erased in the end.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "orgs.erase_sweep" }

// Erasure tuning: how many rows one statement deletes, and how long one run of the job works
// before it lets the queue run it again (River's job timeout is a minute).
const (
	eraseChunk  = 1000
	eraseBudget = 30 * time.Second
)

type eraseWorker struct {
	river.WorkerDefaults[EraseArgs]
	svc *Service
}

// Work erases for at most eraseBudget; what is left is done by the next run, right after
// (a snooze does not count as an attempt).
func (w *eraseWorker) Work(ctx context.Context, job *river.Job[EraseArgs]) error {
	done, err := w.svc.erase(ctx, job.Args.OrgID, eraseBudget)
	if errors.Is(err, errNotClosed) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if !done {
		return river.JobSnooze(0)
	}
	return nil
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	svc *Service
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	ids, err := w.svc.store.closedOrgs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := w.svc.queue.Enqueue(ctx, EraseArgs{OrgID: id}, nil); err != nil {
			return err
		}
	}
	return nil
}

// register puts the erasure's workers on q.
func (s *Service) register(q *queue.Queue) {
	s.queue = q
	queue.Register(q, &eraseWorker{svc: s})
	queue.Register(q, &sweepWorker{svc: s})
	q.Every(time.Hour, SweepArgs{})
}

// Close deletes the organization of the tenant route (owner only): it is closed at once and
// erased by a job. confirm must be the organization's exact name.
func (s *Service) Close(ctx context.Context, confirm string) error {
	p, err := auth.RequireRole(ctx, auth.RoleOwner)
	if err != nil {
		return err
	}
	return s.db.WithinTx(ctx, func(ctx context.Context) error {
		o, err := s.store.orgForUpdate(ctx, p.OrgID)
		if err != nil {
			return err
		}
		if confirm == "" || confirm != o.Name {
			return ErrConfirmationMismatch
		}
		closed, err := s.store.closeOrg(ctx, p.OrgID)
		if err != nil {
			return err
		}
		if !closed {
			// Closed by a concurrent request since the guard let this one in.
			return orgsapi.ErrOrganizationNotFound
		}
		if s.closed != nil {
			if err := s.closed(ctx, orgsapi.OrganizationClosed{OrgID: p.OrgID}); err != nil {
				return err
			}
		}
		if s.queue == nil {
			return errors.New("orgs: no job queue to erase the organization")
		}
		return s.queue.Enqueue(ctx, EraseArgs{OrgID: p.OrgID}, nil)
	})
}

// erase removes the rows of a closed organization, for at most budget, and reports whether
// it is gone. Every statement runs in the organization's tenant scope under the service's
// database role, so row-level security confines the erasure to that organization whatever
// the catalog lists; tables whose policies show a caller less than the whole organization
// (idempotency records, kept per user and key) also admit the erasure while it announces
// itself (app.erase_organization).
func (s *Service) erase(ctx context.Context, orgID int64, budget time.Duration) (bool, error) {
	deadline := time.Now().Add(budget)
	closed, err := s.store.closedAt(ctx, orgID)
	if errors.Is(err, orgsapi.ErrOrganizationNotFound) {
		return true, nil // erased by an earlier run
	}
	if err != nil {
		return false, err
	}
	if closed == nil {
		return false, fmt.Errorf("%w: organization %d", errNotClosed, orgID)
	}
	ctx = database.WithTenant(ctx, orgID)
	// The jobs go first, so that no delivery is attempted from rows being erased, and again at
	// the end, for those enqueued meanwhile from events committed before the close.
	if err := s.store.cancelJobs(ctx, orgID); err != nil {
		return false, err
	}
	tables, err := s.store.tenantTables(ctx)
	if err != nil {
		return false, err
	}
	chunk := s.eraseChunk
	if chunk < 1 {
		chunk = eraseChunk
	}
	// Children go before the tables they reference. A foreign key the order could not
	// satisfy (a cycle) fails its statement, and the table is tried again after the others.
	for len(tables) > 0 {
		var again []tenantTable
		var blocked error
		for _, t := range tables {
			for {
				n, err := s.eraseRows(ctx, t, orgID, chunk)
				if database.PgCode(err) == database.CodeForeignKeyViolation {
					again, blocked = append(again, t), err
					break
				}
				if err != nil {
					return false, fmt.Errorf("erase %s: %w", t.Name, err)
				}
				if t.SelfReferencing {
					break
				}
				// A page can come back short, even empty, while rows remain: a row updated
				// concurrently (the feed's sequencer numbering events) has moved to another
				// physical address. The table is done when none of the organization's rows is
				// left in it.
				if n < int64(chunk) {
					left, err := s.store.hasRows(ctx, t, orgID)
					if err != nil {
						return false, fmt.Errorf("erase %s: %w", t.Name, err)
					}
					if !left {
						break
					}
				}
				if time.Now().After(deadline) {
					return false, nil // the next run carries on from here
				}
			}
		}
		if len(again) == len(tables) {
			return false, fmt.Errorf("erase organization %d: no table can be emptied: %w", orgID, blocked)
		}
		tables = again
	}
	if err := s.store.cancelJobs(ctx, orgID); err != nil {
		return false, err
	}
	// Anything written after the tables were emptied goes with the organization through its
	// foreign keys.
	if err := s.store.deleteOrg(ctx, orgID); err != nil {
		return false, err
	}
	return true, nil
}

// eraseRows deletes up to chunk rows of the organization from t (all of them when t
// references itself, whose rows one statement must take together) in a transaction of its own.
func (s *Service) eraseRows(ctx context.Context, t tenantTable, orgID int64, chunk int) (int64, error) {
	var n int64
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		q := s.db.Q(ctx)
		if _, err := q.Exec(ctx, `SELECT set_config('app.erase_organization', 'on', true)`); err != nil {
			return err
		}
		// Records in the trash go too: they are rows of the organization like any other.
		if err := database.IncludeTrashed(ctx); err != nil {
			return err
		}
		sql := "DELETE FROM " + t.Name + " WHERE organization_id = $1"
		if !t.SelfReferencing {
			// A page of rows by their physical address, so that one statement stays short
			// however large the organization.
			sql += fmt.Sprintf(" AND ctid = ANY (ARRAY (SELECT ctid FROM %s WHERE organization_id = $1 LIMIT %d))", t.Name, chunk)
		}
		tag, err := q.Exec(ctx, sql, orgID)
		n = tag.RowsAffected()
		return err
	})
	return n, database.MapError(err)
}

// hasRows reports whether t still holds a row of the organization, seen as the erasure sees
// its rows (app.erase_organization, for the tables that show a caller less than that).
func (s store) hasRows(ctx context.Context, t tenantTable, orgID int64) (bool, error) {
	var left bool
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		q := s.db.Q(ctx)
		if _, err := q.Exec(ctx, `SELECT set_config('app.erase_organization', 'on', true)`); err != nil {
			return err
		}
		if err := database.IncludeTrashed(ctx); err != nil {
			return err
		}
		return q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+t.Name+" WHERE organization_id = $1)", orgID).Scan(&left)
	})
	return left, database.MapError(err)
}

// tenantTable is a table with an organization_id column, by its quoted, schema-qualified name.
type tenantTable struct {
	Name            string `db:"name"`
	SelfReferencing bool   `db:"self_referencing"`
}

// tenantTables lists the tables of the schema that have an organization_id column (partitions
// through their parent), children before the tables their foreign keys reference.
func (s store) tenantTables(ctx context.Context) ([]tenantTable, error) {
	tables, err := database.Select[tenantTable](ctx, s.db.Q(ctx), sq.Expr(`
		SELECT format('%I.%I', n.nspname, c.relname) AS name,
		       EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conrelid = c.oid AND f.confrelid = c.oid)
		           AS self_referencing
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = current_schema()
		ORDER BY 1`))
	if err != nil {
		return nil, err
	}
	type edge struct {
		Child  string `db:"child"`
		Parent string `db:"parent"`
	}
	edges, err := database.Select[edge](ctx, s.db.Q(ctx), sq.Expr(`
		SELECT format('%I.%I', cn.nspname, cc.relname) AS child, format('%I.%I', pn.nspname, pc.relname) AS parent
		FROM pg_constraint f
		JOIN pg_class cc ON cc.oid = f.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
		JOIN pg_class pc ON pc.oid = f.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
		WHERE f.contype = 'f' AND f.conrelid <> f.confrelid`))
	if err != nil {
		return nil, err
	}
	refs := make([][2]string, len(edges))
	for i, e := range edges {
		refs[i] = [2]string{e.Child, e.Parent}
	}
	return childrenFirst(tables, refs), nil
}

// childrenFirst orders tables so that each comes before every table it references (refs are
// child, parent pairs); tables on a cycle keep their order, after the others.
func childrenFirst(tables []tenantTable, refs [][2]string) []tenantTable {
	in := map[string]bool{}
	for _, t := range tables {
		in[t.Name] = true
	}
	children := map[string][]string{} // parent → the tables referencing it
	for _, r := range refs {
		child, parent := r[0], r[1]
		if in[child] && in[parent] && !slices.Contains(children[parent], child) {
			children[parent] = append(children[parent], child)
		}
	}
	done := map[string]bool{}
	out := make([]tenantTable, 0, len(tables))
	for progress := true; progress; {
		progress = false
		for _, t := range tables {
			if done[t.Name] {
				continue
			}
			ready := true
			for _, c := range children[t.Name] {
				ready = ready && done[c]
			}
			if ready {
				done[t.Name], progress = true, true
				out = append(out, t)
			}
		}
	}
	for _, t := range tables {
		if !done[t.Name] {
			out = append(out, t)
		}
	}
	return out
}

// cancelJobs cancels the organization's jobs that wait to run (webhook deliveries and any job
// whose arguments carry its org_id), but not the erasure itself. Running ones finish their
// attempt and find their rows gone.
func (s store) cancelJobs(ctx context.Context, orgID int64) error {
	_, err := s.db.Q(ctx).Exec(ctx, `UPDATE river_job SET state = 'cancelled', finalized_at = now()
		WHERE state IN ('available', 'pending', 'retryable', 'scheduled') AND args ->> 'org_id' = $1::text AND kind <> $2`,
		strconv.FormatInt(orgID, 10), EraseArgs{}.Kind())
	return database.MapError(err)
}

func (s store) orgForUpdate(ctx context.Context, id int64) (orgRow, error) {
	q := database.SQL.Select(orgCols...).From("organizations o").Where(sq.Eq{"o.id": id}).Where(notClosed).Suffix("FOR UPDATE")
	r, err := database.Get[orgRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, orgsapi.ErrOrganizationNotFound
	}
	return r, err
}

// closedAt is when the organization was closed, nil while it is open.
func (s store) closedAt(ctx context.Context, id int64) (*time.Time, error) {
	t, err := database.Scalar[*time.Time](ctx, s.db.Q(ctx),
		database.SQL.Select("closed_at").From("organizations").Where(sq.Eq{"id": id}))
	if database.IsNoRows(err) {
		return nil, orgsapi.ErrOrganizationNotFound
	}
	return t, err
}

func (s store) closedOrgs(ctx context.Context) ([]int64, error) {
	rows, err := s.db.Q(ctx).Query(ctx, `SELECT id FROM organizations WHERE closed_at IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, database.MapError(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, database.MapError(rows.Err())
}

func (s store) deleteOrg(ctx context.Context, id int64) error {
	_, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("organizations").
		Where(sq.Eq{"id": id}).Where(sq.NotEq{"closed_at": nil}))
	return err
}
