-- migrate:up
-- A velocity window of 90 days read some 15,000 rows of deal_visit_days (a row per day,
-- stage, length bucket and slot) and summed them. deal_visit_months keeps the same sums per
-- UTC month (month = its first day), so that a window reads its whole months from here and
-- only the days between its first day and the nearest month boundary from deal_visit_days
-- (modules/deals/velocity.go). The statement triggers of the stage history keep both tables
-- in one statement each: the rows moved are computed once, then written to the days and,
-- summed per month, to the months, in key order in each table (every writer writes them in
-- the same order, so writers queue instead of deadlocking). As in the days, a decrease of a
-- row of which no slot is left (an organization being erased table by table) is dropped.
CREATE TABLE deal_visit_months (
    organization_id bigint   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pipeline_id     bigint   NOT NULL,
    month           date     NOT NULL CHECK (extract(day FROM month) = 1),
    stage           text     NOT NULL,
    bucket          integer  NOT NULL,
    slot            smallint NOT NULL DEFAULT 0,
    visits          bigint   NOT NULL,
    total_s         numeric  NOT NULL,
    PRIMARY KEY (organization_id, pipeline_id, month, stage, bucket, slot)
) WITH (fillfactor = 90);
ALTER TABLE deal_visit_months ENABLE ROW LEVEL SECURITY;
ALTER TABLE deal_visit_months FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deal_visit_months
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- The first day of the month of a day, without a time zone (date_trunc would go through
-- timestamptz and the session's zone).
CREATE FUNCTION deals_month_of(day date) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN day - (extract(day FROM day)::integer - 1);

-- deal_visit_rows_moved writes the rows moved by a statement of the history (visits and
-- summed lengths per pipeline, day, stage and bucket, positive or negative) to both tables.
-- The three triggers share it: they differ only in how they compute the moved rows, which
-- they pass as arrays.
CREATE FUNCTION deal_visit_rows_moved(orgs bigint[], pipelines bigint[], days date[], stages text[], buckets integer[],
                                      visits bigint[], totals numeric[]) RETURNS void LANGUAGE sql AS $$
    WITH moved AS (
        SELECT * FROM unnest(orgs, pipelines, days, stages, buckets, visits, totals)
            AS m (organization_id, pipeline_id, day, stage, bucket, visits, total_s)
    ), months AS (
        INSERT INTO deal_visit_months AS v (organization_id, pipeline_id, month, stage, bucket, slot, visits, total_s)
        SELECT d.organization_id, d.pipeline_id, d.month, d.stage, d.bucket, pg_backend_pid() % 8, d.visits, d.total_s FROM (
            SELECT organization_id, pipeline_id, deals_month_of(day) AS month, stage, bucket, sum(visits)::bigint AS visits, sum(total_s) AS total_s
            FROM moved GROUP BY 1, 2, 3, 4, 5 HAVING sum(visits) <> 0 OR sum(total_s) <> 0) d
        WHERE d.visits > 0
           OR EXISTS (SELECT FROM deal_visit_months x WHERE x.organization_id = d.organization_id AND x.pipeline_id = d.pipeline_id
                      AND x.month = d.month AND x.stage = d.stage AND x.bucket = d.bucket)
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (organization_id, pipeline_id, month, stage, bucket, slot)
            DO UPDATE SET visits = v.visits + excluded.visits, total_s = v.total_s + excluded.total_s
    )
    INSERT INTO deal_visit_days AS v (organization_id, pipeline_id, day, stage, bucket, slot, visits, total_s)
    SELECT d.organization_id, d.pipeline_id, d.day, d.stage, d.bucket, pg_backend_pid() % 8, d.visits, d.total_s FROM moved d
    WHERE d.visits > 0
       OR EXISTS (SELECT FROM deal_visit_days x WHERE x.organization_id = d.organization_id AND x.pipeline_id = d.pipeline_id
                  AND x.day = d.day AND x.stage = d.stage AND x.bucket = d.bucket)
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, day, stage, bucket, slot)
        DO UPDATE SET visits = v.visits + excluded.visits, total_s = v.total_s + excluded.total_s
$$;

CREATE OR REPLACE FUNCTION deal_visit_days_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM deal_visit_rows_moved(array_agg(organization_id), array_agg(pipeline_id), array_agg(day), array_agg(stage),
                                  array_agg(bucket), array_agg(visits), array_agg(total_s))
    FROM (
        SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date AS day, stage, deals_visit_bucket(entered_at, left_at) AS bucket,
               count(*) AS visits, sum(extract(epoch FROM left_at - entered_at)) AS total_s
        FROM new_rows WHERE left_at IS NOT NULL AND NOT trashed
        GROUP BY 1, 2, 3, 4, 5) d
    HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION deal_visit_days_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM deal_visit_rows_moved(array_agg(organization_id), array_agg(pipeline_id), array_agg(day), array_agg(stage),
                                  array_agg(bucket), array_agg(visits), array_agg(total_s))
    FROM (
        SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date AS day, stage, deals_visit_bucket(entered_at, left_at) AS bucket,
               -count(*) AS visits, -sum(extract(epoch FROM left_at - entered_at)) AS total_s
        FROM old_rows WHERE left_at IS NOT NULL AND NOT trashed
        GROUP BY 1, 2, 3, 4, 5) d
    HAVING count(*) > 0;
    RETURN NULL;
END
$$;

-- An update moves a visit's contribution when it ends the visit (the common case: a stage
-- change, a close), moves it to or from the trash, or changes its times; an update that
-- changes none of that nets to nothing and writes nothing.
CREATE OR REPLACE FUNCTION deal_visit_days_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM deal_visit_rows_moved(array_agg(organization_id), array_agg(pipeline_id), array_agg(day), array_agg(stage),
                                  array_agg(bucket), array_agg(visits), array_agg(total_s))
    FROM (
        SELECT organization_id, pipeline_id, day, stage, bucket, sum(n)::bigint AS visits, sum(s) AS total_s
        FROM (
            SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date AS day, stage,
                   deals_visit_bucket(entered_at, left_at) AS bucket, 1 AS n, extract(epoch FROM left_at - entered_at) AS s
            FROM new_rows WHERE left_at IS NOT NULL AND NOT trashed
            UNION ALL
            SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date, stage,
                   deals_visit_bucket(entered_at, left_at), -1, -extract(epoch FROM left_at - entered_at)
            FROM old_rows WHERE left_at IS NOT NULL AND NOT trashed
        ) moved
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(n) <> 0 OR sum(s) <> 0) d
    HAVING count(*) > 0;
    RETURN NULL;
END
$$;

-- Filled from the days there are, one organization at a time under its tenant setting.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        INSERT INTO deal_visit_months (organization_id, pipeline_id, month, stage, bucket, slot, visits, total_s)
        SELECT organization_id, pipeline_id, deals_month_of(day), stage, bucket, slot, sum(visits), sum(total_s)
        FROM deal_visit_days WHERE organization_id = org
        GROUP BY 1, 2, 3, 4, 5, 6
        ORDER BY 1, 2, 3, 4, 5, 6;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;
ANALYZE deal_visit_months;

-- migrate:down
CREATE OR REPLACE FUNCTION deal_visit_days_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_visit_days AS v (organization_id, pipeline_id, day, stage, bucket, slot, visits, total_s)
    SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date, stage, deals_visit_bucket(entered_at, left_at),
           pg_backend_pid() % 8, count(*), sum(extract(epoch FROM left_at - entered_at))
    FROM new_rows WHERE left_at IS NOT NULL AND NOT trashed
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, day, stage, bucket, slot)
        DO UPDATE SET visits = v.visits + excluded.visits, total_s = v.total_s + excluded.total_s;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION deal_visit_days_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_visit_days AS v (organization_id, pipeline_id, day, stage, bucket, slot, visits, total_s)
    SELECT d.organization_id, d.pipeline_id, d.day, d.stage, d.bucket, pg_backend_pid() % 8, d.visits, d.total_s FROM (
        SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date AS day, stage,
               deals_visit_bucket(entered_at, left_at) AS bucket, -count(*) AS visits, -sum(extract(epoch FROM left_at - entered_at)) AS total_s
        FROM old_rows WHERE left_at IS NOT NULL AND NOT trashed
        GROUP BY 1, 2, 3, 4, 5) d
    WHERE EXISTS (SELECT FROM deal_visit_days x WHERE x.organization_id = d.organization_id AND x.pipeline_id = d.pipeline_id
                  AND x.day = d.day AND x.stage = d.stage AND x.bucket = d.bucket)
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, day, stage, bucket, slot)
        DO UPDATE SET visits = v.visits + excluded.visits, total_s = v.total_s + excluded.total_s;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION deal_visit_days_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_visit_days AS v (organization_id, pipeline_id, day, stage, bucket, slot, visits, total_s)
    SELECT d.organization_id, d.pipeline_id, d.day, d.stage, d.bucket, pg_backend_pid() % 8, d.visits, d.total_s FROM (
        SELECT organization_id, pipeline_id, day, stage, bucket, sum(n) AS visits, sum(s) AS total_s
        FROM (
            SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date AS day, stage,
                   deals_visit_bucket(entered_at, left_at) AS bucket, 1 AS n, extract(epoch FROM left_at - entered_at) AS s
            FROM new_rows WHERE left_at IS NOT NULL AND NOT trashed
            UNION ALL
            SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date, stage,
                   deals_visit_bucket(entered_at, left_at), -1, -extract(epoch FROM left_at - entered_at)
            FROM old_rows WHERE left_at IS NOT NULL AND NOT trashed
        ) moved
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(n) <> 0 OR sum(s) <> 0) d
    WHERE d.visits > 0
       OR EXISTS (SELECT FROM deal_visit_days x WHERE x.organization_id = d.organization_id AND x.pipeline_id = d.pipeline_id
                  AND x.day = d.day AND x.stage = d.stage AND x.bucket = d.bucket)
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, day, stage, bucket, slot)
        DO UPDATE SET visits = v.visits + excluded.visits, total_s = v.total_s + excluded.total_s;
    RETURN NULL;
END
$$;

DROP FUNCTION deal_visit_rows_moved(bigint[], bigint[], date[], text[], integer[], bigint[], numeric[]);
DROP FUNCTION deals_month_of(date);
DROP TABLE deal_visit_months;
