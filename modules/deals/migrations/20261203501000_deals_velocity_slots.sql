-- migrate:up
-- Every stage move of a day ends a visit of the same few (pipeline, day, stage, bucket)
-- rows of the velocity read model, so concurrent moves in one organization queued on them
-- (PATCH stage at 32 clients fell to a quarter of its direct-SQL transaction). Each row is
-- now spread over eight slots, picked by the writing connection as the kept list counts
-- are; the report sums over them (it always summed rows per stage and bucket). A decrease
-- is still dropped when no slot of its row is left (an organization being erased).
ALTER TABLE deal_visit_days ADD COLUMN slot smallint NOT NULL DEFAULT 0;
ALTER TABLE deal_visit_days DROP CONSTRAINT deal_visit_days_pkey;
ALTER TABLE deal_visit_days ADD CONSTRAINT deal_visit_days_pkey PRIMARY KEY (organization_id, pipeline_id, day, stage, bucket, slot);

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

-- An update moves a visit's contribution when it ends the visit (the common case: a stage
-- change, a close), moves it to or from the trash, or changes its times; an update that
-- changes none of that nets to nothing and writes nothing.
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

-- migrate:down
CREATE TEMP TABLE folded AS
    SELECT organization_id, pipeline_id, day, stage, bucket, sum(visits) AS visits, sum(total_s) AS total_s
    FROM deal_visit_days GROUP BY 1, 2, 3, 4, 5;
DELETE FROM deal_visit_days;
ALTER TABLE deal_visit_days DROP CONSTRAINT deal_visit_days_pkey;
ALTER TABLE deal_visit_days DROP COLUMN slot;
ALTER TABLE deal_visit_days ADD CONSTRAINT deal_visit_days_pkey PRIMARY KEY (organization_id, pipeline_id, day, stage, bucket);
INSERT INTO deal_visit_days SELECT * FROM folded WHERE visits <> 0;
DROP TABLE folded;
CREATE OR REPLACE FUNCTION deal_visit_days_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_visit_days AS v (organization_id, pipeline_id, day, stage, bucket, visits, total_s)
    SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date, stage, deals_visit_bucket(entered_at, left_at),
           count(*), sum(extract(epoch FROM left_at - entered_at))
    FROM new_rows WHERE left_at IS NOT NULL AND NOT trashed
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, day, stage, bucket)
        DO UPDATE SET visits = v.visits + excluded.visits, total_s = v.total_s + excluded.total_s;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION deal_visit_days_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_visit_days AS v (organization_id, pipeline_id, day, stage, bucket, visits, total_s)
    SELECT d.* FROM (
        SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date AS day, stage,
               deals_visit_bucket(entered_at, left_at) AS bucket, -count(*) AS visits, -sum(extract(epoch FROM left_at - entered_at)) AS total_s
        FROM old_rows WHERE left_at IS NOT NULL AND NOT trashed
        GROUP BY 1, 2, 3, 4, 5) d
    WHERE EXISTS (SELECT FROM deal_visit_days x WHERE x.organization_id = d.organization_id AND x.pipeline_id = d.pipeline_id
                  AND x.day = d.day AND x.stage = d.stage AND x.bucket = d.bucket)
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, day, stage, bucket)
        DO UPDATE SET visits = v.visits + excluded.visits, total_s = v.total_s + excluded.total_s;
    RETURN NULL;
END
$$;

-- An update moves a visit's contribution when it ends the visit (the common case: a stage
-- change, a close), moves it to or from the trash, or changes its times; an update that
-- changes none of that nets to nothing and writes nothing.
CREATE OR REPLACE FUNCTION deal_visit_days_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_visit_days AS v (organization_id, pipeline_id, day, stage, bucket, visits, total_s)
    SELECT d.* FROM (
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
    ON CONFLICT (organization_id, pipeline_id, day, stage, bucket)
        DO UPDATE SET visits = v.visits + excluded.visits, total_s = v.total_s + excluded.total_s;
    RETURN NULL;
END
$$;

