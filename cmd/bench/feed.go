package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
)

const (
	feedPageOp = "events feed, page from a cursor (100 events)"
	// feedPageSize is the feed's default page size, asked for explicitly.
	feedPageSize = events.DefaultFeedPageSize
	// feedAudience is the widest audience the benchmark user, an owner, reads.
	feedAudience = int16(events.Managers)
)

// feedSetup places the feed's cursor in the middle of the organization's feed: after the
// event half way along its positions, as far in time as that event (where a reader that is
// behind stands), signed as the service signs it. It also explains the page's statement
// there, run as the service runs it, for the report.
func (h *harness) feedSetup(ctx context.Context, rep *Report) error {
	org := h.orgID
	var n int64
	if err := h.owner.QueryRow(ctx, `SELECT count(*) FROM events WHERE organization_id = $1 AND position IS NOT NULL AND audience <= $2`,
		org, feedAudience).Scan(&n); err != nil {
		return fmt.Errorf("bench: count events: %w", err)
	}
	if n <= 2*feedPageSize {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the organization's feed holds %d events: the feed page from a cursor is not measured (seed the events)", n))
		return nil
	}
	var at time.Time
	if err := h.owner.QueryRow(ctx, `SELECT position, occurred_at FROM events WHERE organization_id = $1 AND position IS NOT NULL
		AND audience <= $2 ORDER BY position OFFSET $3 LIMIT 1`, org, feedAudience, n/2).Scan(&h.feedAfter, &at); err != nil {
		return fmt.Errorf("bench: the middle of the feed: %w", err)
	}
	h.feedCursor = events.FeedCursor(database.NewCursors([]byte(h.cfg.CursorSecret)), h.feedAfter, at)
	plan, err := h.explain(ctx, fmt.Sprintf(sqlFeedPage, feedPageSize+1), org, h.feedAfter, feedAudience)
	if err != nil {
		return fmt.Errorf("bench: explain the feed page: %w", err)
	}
	rep.FeedPlan = plan
	rep.Notes = append(rep.Notes, fmt.Sprintf("events feed: `GET /api/v1/events?page_size=%d&cursor=…`, the cursor after the %s-th of the organization's %s events (position %d, occurred %s); its plan is below",
		feedPageSize, thousands(n/2+1), thousands(n), h.feedAfter, at.UTC().Format(time.RFC3339)))
	return nil
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) of a statement as the direct-SQL side runs it: as
// the application role, scoped to the organization and the user, and returns the plan.
func (h *harness) explain(ctx context.Context, sql string, args ...any) (string, error) {
	var lines []string
	err := pgx.BeginFunc(ctx, h.owner, func(tx pgx.Tx) error {
		if h.cfg.Role != "" {
			if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{h.cfg.Role}.Sanitize()); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, sqlScope, idArg(h.orgID), idArg(h.userID), ""); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}
