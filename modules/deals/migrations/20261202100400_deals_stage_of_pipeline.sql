-- migrate:up
-- A deal's stage is a key of its pipeline's stages (the service checks it against the
-- pipeline), no longer one of the four of part 1. max_stage keeps its meaning: the furthest
-- of the part-1 stages reached (deals_stage_position of a key of another stage is NULL, and
-- such a stage raises nothing).
ALTER TABLE deals DROP CONSTRAINT deals_stage_check;

-- What the analytics read model is rebuilt from, per pipeline and stage key: the
-- organization's deals counted and summed per pipeline, status, stage key, furthest part-1
-- stage reached and currency. Like the other functions of 20261201100200 it runs with the
-- caller's rights, under row-level security.
CREATE FUNCTION deals_stage_totals(org bigint)
    RETURNS TABLE (pipeline_id bigint, status text, stage text, max_stage smallint, currency char(3), deals bigint, amount numeric)
    LANGUAGE sql STABLE
    AS $$ SELECT d.pipeline_id, d.status, d.stage, d.max_stage, d.currency, count(*), sum(d.amount)
          FROM deals d
          WHERE d.organization_id = org
          GROUP BY 1, 2, 3, 4, 5 $$;

-- migrate:down
DROP FUNCTION deals_stage_totals(bigint);
ALTER TABLE deals ADD CONSTRAINT deals_stage_check
    CHECK (stage IN ('qualification', 'proposal', 'negotiation', 'closed'));
