-- migrate:up
-- The trash: DELETE of a deal sets deleted_at and who did it (deleted_by_type,
-- deleted_by_id, an actor as the change feed renders it) instead of removing the row; its
-- timeline and stage history stay. A restore clears them; the trash's purge removes the row
-- for good, and its activities, tasks and stage history go with it by their foreign keys.
ALTER TABLE deals
    ADD COLUMN deleted_at      timestamptz,
    ADD COLUMN deleted_by_type text CHECK (deleted_by_type IN ('user', 'api_key', 'system')),
    ADD COLUMN deleted_by_id   bigint,
    ADD CONSTRAINT deals_deleted_by_check CHECK ((deleted_at IS NULL) = (deleted_by_type IS NULL));

-- A deal in the trash is hidden from every statement of the service unless the transaction
-- announces that it works on the trash (app.include_trashed, database.IncludeTrashed).
CREATE POLICY live_rows ON deals AS RESTRICTIVE FOR SELECT
    USING (deleted_at IS NULL OR current_setting('app.include_trashed', true) = 'on');

-- The functions the analytics read model is recounted from leave trashed deals out
-- explicitly: a recount may run as the database owner, whom row-level security does not
-- filter (analytics.Rebuild after a bulk load).
CREATE OR REPLACE FUNCTION deals_pipeline_totals(org bigint)
    RETURNS TABLE (status text, stage smallint, max_stage smallint, currency char(3), deals bigint, amount numeric)
    LANGUAGE sql STABLE
    AS $$ SELECT d.status, deals_stage_position(d.stage), d.max_stage, d.currency, count(*), sum(d.amount)
          FROM deals d
          WHERE d.organization_id = org AND d.deleted_at IS NULL
          GROUP BY 1, 2, 3, 4 $$;

CREATE OR REPLACE FUNCTION deals_created_per_day(org bigint)
    RETURNS TABLE (day date, deals bigint)
    LANGUAGE sql STABLE
    AS $$ SELECT (d.created_at AT TIME ZONE 'UTC')::date, count(*)
          FROM deals d
          WHERE d.organization_id = org AND d.deleted_at IS NULL
          GROUP BY 1 $$;

CREATE OR REPLACE FUNCTION deals_stage_totals(org bigint)
    RETURNS TABLE (pipeline_id bigint, status text, stage text, max_stage smallint, currency char(3), deals bigint, amount numeric)
    LANGUAGE sql STABLE
    AS $$ SELECT d.pipeline_id, d.status, d.stage, d.max_stage, d.currency, count(*), sum(d.amount)
          FROM deals d
          WHERE d.organization_id = org AND d.deleted_at IS NULL
          GROUP BY 1, 2, 3, 4, 5 $$;

CREATE OR REPLACE FUNCTION deals_open_by_close_month(org bigint)
    RETURNS TABLE (pipeline_id bigint, month date, stage text, currency text, overridden boolean,
                   deals bigint, amount numeric, amount_prob numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT d.pipeline_id, coalesce(date_trunc('month', d.expected_close_date)::date, 'infinity'::date), d.stage,
           d.currency::text, d.probability IS NOT NULL, count(*), sum(d.amount), coalesce(sum(d.amount * d.probability), 0)
    FROM deals d
    WHERE d.organization_id = org AND d.status IN ('new', 'in_progress') AND d.deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5
$$;

CREATE OR REPLACE FUNCTION deals_won_per_day(org bigint)
    RETURNS TABLE (pipeline_id bigint, day date, currency text, deals bigint, amount numeric, to_win_us numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT d.pipeline_id, (d.closed_at AT TIME ZONE 'UTC')::date, d.currency::text, count(*), sum(d.amount),
           sum(extract(epoch FROM d.closed_at - d.created_at) * 1000000)
    FROM deals d
    WHERE d.organization_id = org AND d.status = 'won' AND d.deleted_at IS NULL
    GROUP BY 1, 2, 3
$$;

CREATE OR REPLACE FUNCTION deals_visited_sets(org bigint)
    RETURNS TABLE (pipeline_id bigint, stages text[], deals bigint)
    LANGUAGE sql STABLE
    AS $$
    SELECT v.pipeline_id, v.stages, count(*)
    FROM (SELECT d.pipeline_id, array_agg(DISTINCT h.stage COLLATE "C" ORDER BY h.stage COLLATE "C") AS stages
          FROM deals d
          JOIN deal_stage_history h ON h.organization_id = d.organization_id AND h.deal_id = d.id AND h.pipeline_id = d.pipeline_id
          WHERE d.organization_id = org AND d.deleted_at IS NULL
          GROUP BY d.id, d.pipeline_id) v
    GROUP BY 1, 2
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION deals_visited_sets(org bigint)
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
CREATE OR REPLACE FUNCTION deals_won_per_day(org bigint)
    RETURNS TABLE (pipeline_id bigint, day date, currency text, deals bigint, amount numeric, to_win_us numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT d.pipeline_id, (d.closed_at AT TIME ZONE 'UTC')::date, d.currency::text, count(*), sum(d.amount),
           sum(extract(epoch FROM d.closed_at - d.created_at) * 1000000)
    FROM deals d
    WHERE d.organization_id = org AND d.status = 'won'
    GROUP BY 1, 2, 3
$$;
CREATE OR REPLACE FUNCTION deals_open_by_close_month(org bigint)
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
CREATE OR REPLACE FUNCTION deals_stage_totals(org bigint)
    RETURNS TABLE (pipeline_id bigint, status text, stage text, max_stage smallint, currency char(3), deals bigint, amount numeric)
    LANGUAGE sql STABLE
    AS $$ SELECT d.pipeline_id, d.status, d.stage, d.max_stage, d.currency, count(*), sum(d.amount)
          FROM deals d
          WHERE d.organization_id = org
          GROUP BY 1, 2, 3, 4, 5 $$;
CREATE OR REPLACE FUNCTION deals_created_per_day(org bigint)
    RETURNS TABLE (day date, deals bigint)
    LANGUAGE sql STABLE
    AS $$ SELECT (d.created_at AT TIME ZONE 'UTC')::date, count(*)
          FROM deals d
          WHERE d.organization_id = org
          GROUP BY 1 $$;
CREATE OR REPLACE FUNCTION deals_pipeline_totals(org bigint)
    RETURNS TABLE (status text, stage smallint, max_stage smallint, currency char(3), deals bigint, amount numeric)
    LANGUAGE sql STABLE
    AS $$ SELECT d.status, deals_stage_position(d.stage), d.max_stage, d.currency, count(*), sum(d.amount)
          FROM deals d
          WHERE d.organization_id = org
          GROUP BY 1, 2, 3, 4 $$;
DROP POLICY live_rows ON deals;
ALTER TABLE deals
    DROP CONSTRAINT deals_deleted_by_check,
    DROP COLUMN deleted_by_id,
    DROP COLUMN deleted_by_type,
    DROP COLUMN deleted_at;
