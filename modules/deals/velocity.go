package deals

import (
	"context"
	"fmt"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/database"
)

// The velocity report's stage visits (dealsapi.Deals.StageVisits) come from a read model of
// the finished visits, deal_visit_days (migration 20261203400100): per pipeline, UTC day the
// visit ended, stage and length bucket, how many and their summed length; and the same per
// UTC month in deal_visit_months (migration 20261203700100). Statement
// triggers on deal_stage_history keep it in step in the transaction of every write of the
// history, so a stage change, a close, a reopen, a pipeline change, the first visit of a
// new deal, a delete for good (the history goes by its foreign key) and the trash
// (setVisitsTrashed) all move it, whichever code runs the statement.
//
// One statement reads, so everything comes from one snapshot:
//   - the whole UTC months of the window from deal_visit_months, the whole days between its
//     first day and the nearest month boundary from deal_visit_days (added up to the next
//     month, or taken away from the first day's month: visitRangesOf), the part of its first
//     day after its start from the history (deal_stage_history_ended_idx), summed per stage
//     and bucket;
//   - count and mean per stage from those sums: the mean is Σ epoch / count as numeric, the
//     very division avg() makes over the same exact values;
//   - the median: the buckets, in order, say which one holds the middle visit (and which
//     the next one, for an even count) and at which rank inside it; the visits of that
//     bucket in the window are read from deal_stage_history_bucket_idx, sorted and picked
//     at that rank. For an even count the two are combined as percentile_cont does for an
//     interval, (hi − lo) × 0.5 + lo, so the result is the one of percentile_cont(0.5) over
//     all the visits, to the microsecond.
//
// What a report reads is bounded by the window's months and at most about half a month of
// days, × stages × buckets, plus a day's visits plus the visits of the window in one or two
// buckets per stage, instead of every visit of the window.
const velocitySQL = `WITH parts AS (
    SELECT stage, bucket, visits, total_s FROM deal_visit_months
    WHERE organization_id = $1 AND pipeline_id = $2 AND month >= $3::date
    UNION ALL
    SELECT stage, bucket, CASE WHEN day >= $6::date THEN visits ELSE -visits END, CASE WHEN day >= $6::date THEN total_s ELSE -total_s END
    FROM deal_visit_days
    WHERE organization_id = $1 AND pipeline_id = $2 AND day >= $4::date AND day < $5::date
    UNION ALL
    SELECT stage, deals_visit_bucket(entered_at, left_at), 1, extract(epoch FROM left_at - entered_at) FROM deal_stage_history
    WHERE organization_id = $1 AND pipeline_id = $2 AND left_at >= $7 AND left_at < $8 AND left_at IS NOT NULL AND NOT trashed
), buckets AS (
    SELECT stage, bucket, sum(visits)::bigint AS visits, sum(total_s) AS total_s FROM parts
    GROUP BY stage, bucket HAVING sum(visits) <> 0
), ranked AS (
    SELECT stage, bucket, visits,
           (sum(visits) OVER (PARTITION BY stage ORDER BY bucket))::bigint - visits AS below,
           (sum(visits) OVER (PARTITION BY stage))::bigint AS n,
           sum(total_s) OVER (PARTITION BY stage) AS total_s
    FROM buckets
), middle AS (
    SELECT stage, bucket, below, n, total_s,
           greatest((n + 1) / 2, below + 1) AS first_rank, least(n / 2 + 1, below + visits) AS last_rank
    FROM ranked
    WHERE below < n / 2 + 1 AND below + visits >= (n + 1) / 2
), picked AS (
    SELECT m.stage, m.n, m.total_s, p.d
    FROM middle m CROSS JOIN LATERAL (
        SELECT h.left_at - h.entered_at AS d FROM deal_stage_history h
        WHERE h.organization_id = $1 AND h.pipeline_id = $2 AND h.stage = m.stage
          AND deals_visit_bucket(h.entered_at, h.left_at) = m.bucket
          AND h.left_at >= $7 AND h.left_at IS NOT NULL AND NOT h.trashed
        ORDER BY 1 OFFSET m.first_rank - m.below - 1 LIMIT m.last_rank - m.first_rank + 1) p
)
SELECT stage, n AS visits, round(total_s / n * 1000000)::bigint AS mean_us,
       round(extract(epoch FROM CASE WHEN count(*) = 1 THEN min(d) ELSE (max(d) - min(d)) * 0.5::float8 + min(d) END) * 1000000)::bigint AS median_us
FROM picked GROUP BY stage, n, total_s`

// visitRanges are the parts of the read model a window starting at some instant reads: the
// UTC months from months on (deal_visit_months), the days in [daysFrom, daysTo) of
// deal_visit_days, added when on or after firstDayEnd and taken away before it, and the
// history from the window's start to firstDayEnd (the end of its first UTC day).
type visitRanges struct {
	firstDayEnd, months, daysFrom, daysTo time.Time
}

// visitRangesOf splits the window starting at since at the month boundary nearest to the end
// of its first day: the whole months after that day plus the days up to that month (when
// the next month is nearer) or the month of that day minus its days before it (when the
// month's start is nearer), so that a window reads at most about half a month of days.
func visitRangesOf(since time.Time) visitRanges {
	y, m, d := since.UTC().Date()
	end := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	start := time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, time.UTC)
	next := start.AddDate(0, 1, 0)
	if end.Equal(start) {
		return visitRanges{firstDayEnd: end, months: start, daysFrom: end, daysTo: end}
	}
	if next.Sub(end) <= end.Sub(start) {
		return visitRanges{firstDayEnd: end, months: next, daysFrom: end, daysTo: next}
	}
	return visitRanges{firstDayEnd: end, months: start, daysFrom: start, daysTo: end}
}

// velocityVisits reports the visits of the pipeline's stages that ended at or after since,
// per stage key, from the read model (see velocitySQL).
func (s store) velocityVisits(ctx context.Context, orgID, pipelineID int64, since time.Time) ([]dealsapi.StageVisits, error) {
	type row struct {
		Stage  string `db:"stage"`
		Visits int64  `db:"visits"`
		Mean   int64  `db:"mean_us"`
		Median int64  `db:"median_us"`
	}
	r := visitRangesOf(since)
	rows, err := database.Select[row](ctx, s.db.Q(ctx), sq.Expr(velocitySQL, orgID, pipelineID,
		r.months.Format(time.DateOnly), r.daysFrom.Format(time.DateOnly), r.daysTo.Format(time.DateOnly),
		r.firstDayEnd.Format(time.DateOnly), since, r.firstDayEnd))
	if err != nil {
		return nil, fmt.Errorf("stage visits: %w", err)
	}
	out := make([]dealsapi.StageVisits, len(rows))
	for i, r := range rows {
		out[i] = dealsapi.StageVisits{Stage: r.Stage, Visits: r.Visits,
			Mean: time.Duration(r.Mean) * time.Microsecond, Median: time.Duration(r.Median) * time.Microsecond}
	}
	return out, nil
}

// setVisitsTrashed takes the finished stage visits of a deal out of what velocity reports
// (trashed) or puts them back (restored), in the transaction of ctx. The history keeps the
// rows, marked; the update's trigger moves their contribution out of or back into
// deal_visit_days.
func (s store) setVisitsTrashed(ctx context.Context, orgID, dealID int64, trashed bool) error {
	if _, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Update("deal_stage_history").Set("trashed", trashed).
		Where(sq.Eq{"organization_id": orgID, "deal_id": dealID}).Where(sq.NotEq{"trashed": trashed})); err != nil {
		return fmt.Errorf("stage visits to the trash: %w", err)
	}
	return nil
}
