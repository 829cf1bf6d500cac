-- migrate:up
-- What the analytics forecast, velocity and funnel are recounted from (analytics_recount),
-- as functions of the deals module, since only a table's module reads it; and the indexes
-- behind the parts of those reports that read deals and stage history directly.

-- Open deals per pipeline, expected close month ('infinity' without a date), stage,
-- currency and whether the deal overrides its stage's probability: how many, their sum and
-- the sum of amount × override (0 without one).
CREATE FUNCTION deals_open_by_close_month(org bigint)
    RETURNS TABLE (pipeline_id bigint, month date, stage text, currency text, overridden boolean,
                   deals bigint, amount numeric, amount_prob numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT d.pipeline_id, coalesce(date_trunc('month', d.expected_close_date)::date, 'infinity'::date), d.stage,
           d.currency::text, d.probability IS NOT NULL, count(*), sum(d.amount), coalesce(sum(d.amount * d.probability), 0)
    FROM deals d
    WHERE d.organization_id = org AND d.status IN ('new', 'in_progress')
    GROUP BY 1, 2, 3, 4, 5
$$;

-- Won deals per pipeline, UTC day of closed_at and currency: how many, their sum and the
-- sum of their times from creation to closing, in microseconds.
CREATE FUNCTION deals_won_per_day(org bigint)
    RETURNS TABLE (pipeline_id bigint, day date, currency text, deals bigint, amount numeric, to_win_us numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT d.pipeline_id, (d.closed_at AT TIME ZONE 'UTC')::date, d.currency::text, count(*), sum(d.amount),
           sum(extract(epoch FROM d.closed_at - d.created_at) * 1000000)
    FROM deals d
    WHERE d.organization_id = org AND d.status = 'won'
    GROUP BY 1, 2, 3
$$;

-- Deals per pipeline and set of stages of that pipeline they ever entered (stage keys,
-- sorted bytewise): what the funnel's reached is computed from under any stage order.
CREATE FUNCTION deals_visited_sets(org bigint)
    RETURNS TABLE (pipeline_id bigint, stages text[], deals bigint)
    LANGUAGE sql STABLE
    AS $$
    SELECT v.pipeline_id, v.stages, count(*)
    FROM (SELECT d.pipeline_id, array_agg(DISTINCT h.stage COLLATE "C" ORDER BY h.stage COLLATE "C") AS stages
          FROM deals d
          JOIN deal_stage_history h ON h.organization_id = d.organization_id AND h.deal_id = d.id AND h.pipeline_id = d.pipeline_id
          WHERE d.organization_id = org
          GROUP BY d.id, d.pipeline_id) v
    GROUP BY 1, 2
$$;

-- The won deals of a part of a day (velocity's first day, a month boundary in the
-- organization's time zone) are counted from the deals.
CREATE INDEX deals_won_closed_idx ON deals (organization_id, closed_at) WHERE status = 'won';

-- Velocity reads the visits that ended in its window from the index alone.
DROP INDEX deal_stage_history_left_idx;
CREATE INDEX deal_stage_history_left_idx ON deal_stage_history (organization_id, pipeline_id, left_at)
    INCLUDE (stage, entered_at) WHERE left_at IS NOT NULL;

-- migrate:down
DROP INDEX deal_stage_history_left_idx;
CREATE INDEX deal_stage_history_left_idx ON deal_stage_history (organization_id, pipeline_id, left_at) WHERE left_at IS NOT NULL;
DROP INDEX deals_won_closed_idx;
DROP FUNCTION deals_visited_sets(bigint);
DROP FUNCTION deals_won_per_day(bigint);
DROP FUNCTION deals_open_by_close_month(bigint);
