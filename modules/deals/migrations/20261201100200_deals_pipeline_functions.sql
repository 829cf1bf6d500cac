-- migrate:up
-- What other modules may know of the deals table in SQL, as functions this module owns:
-- only this module reads and writes the table itself. They run with the caller's rights
-- (SECURITY INVOKER), so row-level security of deals applies: the caller sets the
-- organization (app.organization_id) as every reader does.

-- The position of a stage in the pipeline (1 for the first), NULL for an unknown stage. It
-- mirrors dealsapi.Pipeline, the one definition of the order, and a test of the deals module
-- fails when the two differ; SQL that needs the order calls this function.
CREATE FUNCTION deals_stage_position(stage text) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE stage WHEN 'qualification' THEN 1 WHEN 'proposal' THEN 2
                            WHEN 'negotiation' THEN 3 WHEN 'closed' THEN 4 END::smallint $$;

-- The organization's deals counted and summed per status, stage position, furthest stage
-- reached (max_stage, a position too) and currency: what the analytics read model is
-- rebuilt from.
CREATE FUNCTION deals_pipeline_totals(org bigint)
    RETURNS TABLE (status text, stage smallint, max_stage smallint, currency char(3), deals bigint, amount numeric)
    LANGUAGE sql STABLE
    AS $$ SELECT d.status, deals_stage_position(d.stage), d.max_stage, d.currency, count(*), sum(d.amount)
          FROM deals d
          WHERE d.organization_id = org
          GROUP BY 1, 2, 3, 4 $$;

-- The organization's deals counted per UTC day of creation.
CREATE FUNCTION deals_created_per_day(org bigint)
    RETURNS TABLE (day date, deals bigint)
    LANGUAGE sql STABLE
    AS $$ SELECT (d.created_at AT TIME ZONE 'UTC')::date, count(*)
          FROM deals d
          WHERE d.organization_id = org
          GROUP BY 1 $$;

-- migrate:down
DROP FUNCTION deals_created_per_day(bigint);
DROP FUNCTION deals_pipeline_totals(bigint);
DROP FUNCTION deals_stage_position(text);
