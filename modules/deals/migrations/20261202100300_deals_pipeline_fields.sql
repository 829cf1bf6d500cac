-- migrate:up
-- Deals join the configurable pipelines: each deal is in one pipeline of its organization
-- (the default one for every deal that existed before), may carry an expected close date and
-- a probability overriding its stage's, and remembers when it was closed (won or lost) and
-- when it entered its current stage.
ALTER TABLE deals
    ADD COLUMN pipeline_id         bigint,
    ADD COLUMN expected_close_date date,
    ADD COLUMN probability         smallint CHECK (probability BETWEEN 0 AND 100),
    ADD COLUMN closed_at           timestamptz,
    ADD COLUMN stage_entered_at    timestamptz;

-- Backfill, one organization at a time under its own tenant setting (row-level security):
-- the default pipeline; closed_at of a won or lost deal from the last status change into won
-- or lost on its timeline, else its updated_at; stage_entered_at from its last stage change,
-- else its created_at. The timeline's changes come from the timeline module's function.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        UPDATE deals d
        SET pipeline_id = pipelines_default_id(org),
            closed_at = CASE WHEN d.status IN ('won', 'lost') THEN coalesce(x.closed, d.updated_at) END,
            stage_entered_at = coalesce(x.entered, d.created_at)
        FROM (SELECT d2.id, c.closed, s.entered
              FROM deals d2
              LEFT JOIN (SELECT t.deal_id, max(t.created_at) AS closed
                         FROM timeline_changes(org, 'status_changed') t
                         WHERE t.to_value IN ('won', 'lost')
                         GROUP BY t.deal_id) c ON c.deal_id = d2.id
              LEFT JOIN (SELECT t.deal_id, max(t.created_at) AS entered
                         FROM timeline_changes(org, 'stage_changed') t
                         GROUP BY t.deal_id) s ON s.deal_id = d2.id
              WHERE d2.organization_id = org) x
        WHERE d.organization_id = org AND d.id = x.id;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

ALTER TABLE deals
    ALTER COLUMN pipeline_id SET NOT NULL,
    ALTER COLUMN stage_entered_at SET NOT NULL,
    ADD CONSTRAINT deals_pipeline_fkey FOREIGN KEY (organization_id, pipeline_id)
        REFERENCES pipelines (organization_id, id);
CREATE INDEX deals_pipeline_idx ON deals (organization_id, pipeline_id, stage, created_at DESC, id DESC);
CREATE INDEX deals_expected_close_idx ON deals (organization_id, expected_close_date, id);

-- An insert that names no pipeline (the service always names one; seeds and direct SQL may
-- not) gets the organization's default pipeline (made first for an organization inserted by
-- direct SQL, which has none yet); stage_entered_at defaults to created_at, and
-- a deal created won or lost is closed at its updated_at.
CREATE FUNCTION deals_fill_defaults() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.pipeline_id IS NULL THEN
        NEW.pipeline_id := coalesce(pipelines_default_id(NEW.organization_id),
                                    pipelines_create_default(NEW.organization_id));
    END IF;
    IF NEW.stage_entered_at IS NULL THEN
        NEW.stage_entered_at := NEW.created_at;
    END IF;
    IF NEW.closed_at IS NULL AND NEW.status IN ('won', 'lost') THEN
        NEW.closed_at := NEW.updated_at;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER deals_fill_defaults BEFORE INSERT ON deals
    FOR EACH ROW EXECUTE FUNCTION deals_fill_defaults();

-- migrate:down
DROP TRIGGER deals_fill_defaults ON deals;
DROP FUNCTION deals_fill_defaults();
DROP INDEX deals_expected_close_idx;
DROP INDEX deals_pipeline_idx;
ALTER TABLE deals
    DROP CONSTRAINT deals_pipeline_fkey,
    DROP COLUMN stage_entered_at,
    DROP COLUMN closed_at,
    DROP COLUMN probability,
    DROP COLUMN expected_close_date,
    DROP COLUMN pipeline_id;
