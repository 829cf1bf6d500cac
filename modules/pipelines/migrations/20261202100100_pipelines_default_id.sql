-- migrate:up
-- For SQL of other modules: the id of the organization's default pipeline (the deals module
-- fills a deal's pipeline with it when an insert names none), and a stage's probability (what
-- a deal without an override of its own is rendered with). They run with the caller's rights,
-- under row-level security of the pipelines tables.
CREATE FUNCTION pipelines_default_id(org bigint) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT p.id FROM pipelines p WHERE p.organization_id = org AND p.is_default $$;

CREATE FUNCTION pipelines_stage_probability(org bigint, pipeline bigint, stage text) RETURNS integer
    LANGUAGE sql STABLE
    AS $$ SELECT s.probability FROM pipeline_stages s
          WHERE s.organization_id = org AND s.pipeline_id = pipeline AND s.key = stage $$;

-- migrate:down
DROP FUNCTION pipelines_stage_probability(bigint, bigint, text);
DROP FUNCTION pipelines_default_id(bigint);
