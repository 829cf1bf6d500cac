-- migrate:up
-- The furthest stage reached may not be behind the stage. The check now asks
-- deals_stage_position for the stage's position instead of spelling out the order of the
-- stages again, so that SQL knows the order in one place, held to dealsapi.Pipeline by a
-- test. The constraint keeps its name and what it accepts.
ALTER TABLE deals
    DROP CONSTRAINT deals_max_stage_reached,
    ADD CONSTRAINT deals_max_stage_reached CHECK (max_stage >= deals_stage_position(stage));

-- migrate:down
ALTER TABLE deals
    DROP CONSTRAINT deals_max_stage_reached,
    ADD CONSTRAINT deals_max_stage_reached CHECK (max_stage >= CASE stage
        WHEN 'qualification' THEN 1 WHEN 'proposal' THEN 2 WHEN 'negotiation' THEN 3 ELSE 4 END);
