-- migrate:up
-- The read model of the velocity report (modules/deals/velocity.go). The report needs, per
-- stage of a pipeline, the count, the mean and the exact median of the lengths of the visits
-- that ended in the last N days. Reading every such visit and sorting it cost a second at a
-- million deals, so:
--   - deal_visit_days keeps the finished visits per pipeline, UTC day they ended, stage and
--     length bucket (deals_visit_bucket): how many, and the sum of their lengths in seconds
--     exactly as extract(epoch ...) gives them. Whole days of the window come from it.
--   - the part of the window's first day after its start, and the exact pick of the middle
--     visit(s) inside the one or two buckets that hold them, come from the history itself,
--     through two partial indexes of the finished visits.
-- Statement triggers on deal_stage_history keep it in step in the transaction of every write
-- of the history, whoever writes it (the service, the first-visit trigger of a new deal, a
-- seed, direct SQL, the cascade of a deal deleted for good).

-- A visit of a deal in the trash stays in the history but counts nowhere.
ALTER TABLE deal_stage_history ADD COLUMN trashed boolean NOT NULL DEFAULT false;

-- The length bucket of a visit from entered to ended: how many of these thresholds (in
-- seconds: 2^(i/4) rounded, four a doubling, from 1 s to 2^29 s, about 17 years) its length
-- reaches. Only the order matters: a longer visit never falls into a lower bucket, so the
-- buckets, summed over the window, say which bucket holds the median. Integer thresholds
-- compared with the exact epoch keep the function the same on every machine. It raises no
-- error (an infinite time gives NULL), so it can be LEAKPROOF: under row-level security
-- only leakproof conditions can be index conditions, and the report reaches the visits of
-- one bucket through deal_stage_history_bucket_idx by it. It is PL/pgSQL so that the planner
-- keeps the call (and its leakproofness) instead of inlining its body.
CREATE FUNCTION deals_visit_bucket(entered timestamptz, ended timestamptz) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
BEGIN
    IF NOT isfinite(entered) OR NOT isfinite(ended) THEN
        RETURN NULL;
    END IF;
    RETURN width_bucket(extract(epoch FROM ended - entered), '{1,2,3,4,5,6,7,8,10,11,13,16,19,23,27,32,38,45,54,64,76,91,108,128,152,181,215,256,304,362,431,512,609,724,861,1024,1218,1448,1722,2048,2435,2896,3444,4096,4871,5793,6889,8192,9742,11585,13777,16384,19484,23170,27554,32768,38968,46341,55109,65536,77936,92682,110218,131072,155872,185364,220436,262144,311744,370728,440872,524288,623487,741455,881744,1048576,1246974,1482910,1763488,2097152,2493948,2965821,3526975,4194304,4987896,5931642,7053950,8388608,9975792,11863283,14107901,16777216,19951585,23726566,28215802,33554432,39903169,47453133,56431603,67108864,79806339,94906266,112863206,134217728,159612677,189812531,225726413,268435456,319225354,379625062,451452825,536870912}'::numeric[]);
END
$$;
-- LEAKPROOF is for superusers; a migration run by another role leaves the function as it is
-- (the report stays exact and reads the window's visits of the stage instead of a bucket's).
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION deals_visit_bucket(timestamptz, timestamptz) LEAKPROOF;
    ELSE
        RAISE NOTICE 'not a superuser: velocity picks its medians without deal_stage_history_bucket_idx';
    END IF;
END
$$;

-- Finished visits (not in the trash) per pipeline, UTC day of left_at, stage and bucket;
-- total_s is Σ extract(epoch FROM left_at - entered_at), exact (six decimals). Rows that
-- fall to zero stay and count for nothing.
CREATE TABLE deal_visit_days (
    organization_id bigint  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pipeline_id     bigint  NOT NULL,
    day             date    NOT NULL,
    stage           text    NOT NULL,
    bucket          integer NOT NULL,
    visits          bigint  NOT NULL,
    total_s         numeric NOT NULL,
    PRIMARY KEY (organization_id, pipeline_id, day, stage, bucket)
) WITH (fillfactor = 90);
ALTER TABLE deal_visit_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE deal_visit_days FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deal_visit_days
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- The triggers add what a statement's new rows count and take away what its old rows
-- counted. The rows of the read model are written in key order, so that two writers of
-- several rows (deletes, the trash) queue instead of deadlocking. A decrease of a row that
-- is not there (the organization being erased table by table) is dropped rather than
-- written as a negative row.
CREATE FUNCTION deal_visit_days_insert() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION deal_visit_days_delete() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE FUNCTION deal_visit_days_update() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER deal_visit_days_insert AFTER INSERT ON deal_stage_history
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deal_visit_days_insert();
CREATE TRIGGER deal_visit_days_delete AFTER DELETE ON deal_stage_history
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION deal_visit_days_delete();
CREATE TRIGGER deal_visit_days_update AFTER UPDATE ON deal_stage_history
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deal_visit_days_update();

-- Filled from the history there is, one organization at a time under its tenant setting.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        INSERT INTO deal_visit_days (organization_id, pipeline_id, day, stage, bucket, visits, total_s)
        SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date, stage, deals_visit_bucket(entered_at, left_at),
               count(*), sum(extract(epoch FROM left_at - entered_at))
        FROM deal_stage_history WHERE organization_id = org AND left_at IS NOT NULL AND NOT trashed
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

-- The finished visits of a pipeline by when they ended: the part of the window's first day
-- (replaces the index the report used to read the whole window from).
DROP INDEX deal_stage_history_left_idx;
CREATE INDEX deal_stage_history_ended_idx ON deal_stage_history (organization_id, pipeline_id, left_at)
    INCLUDE (stage, entered_at) WHERE left_at IS NOT NULL AND NOT trashed;
-- The finished visits of one stage and bucket of a pipeline that ended in the window, from
-- which the middle one(s) are picked exactly.
CREATE INDEX deal_stage_history_bucket_idx ON deal_stage_history
    (organization_id, pipeline_id, stage, deals_visit_bucket(entered_at, left_at), left_at)
    INCLUDE (entered_at) WHERE left_at IS NOT NULL AND NOT trashed;

ANALYZE deal_stage_history;
ANALYZE deal_visit_days;

-- migrate:down
DROP INDEX deal_stage_history_bucket_idx;
DROP INDEX deal_stage_history_ended_idx;
CREATE INDEX deal_stage_history_left_idx ON deal_stage_history (organization_id, pipeline_id, left_at)
    INCLUDE (stage, entered_at) WHERE left_at IS NOT NULL;
DROP TRIGGER deal_visit_days_update ON deal_stage_history;
DROP TRIGGER deal_visit_days_delete ON deal_stage_history;
DROP TRIGGER deal_visit_days_insert ON deal_stage_history;
DROP FUNCTION deal_visit_days_update();
DROP FUNCTION deal_visit_days_delete();
DROP FUNCTION deal_visit_days_insert();
DROP TABLE deal_visit_days;
DROP FUNCTION deals_visit_bucket(timestamptz, timestamptz);
ALTER TABLE deal_stage_history DROP COLUMN trashed;
