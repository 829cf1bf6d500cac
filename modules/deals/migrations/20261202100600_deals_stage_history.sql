-- migrate:up
-- The stage history of deals: one row per visit of a stage, from when the deal entered it
-- until it left it (another stage, another pipeline, or the deal won or lost; NULL while the
-- visit lasts). The service writes it in the transaction of every create, stage or pipeline
-- change and close or reopen, so that a deal has at most one open visit. The funnel's
-- "reached" and the velocity report are computed from it.
CREATE TABLE deal_stage_history (
    organization_id bigint      NOT NULL,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    deal_id         bigint      NOT NULL,
    pipeline_id     bigint      NOT NULL,
    stage           text        NOT NULL,
    entered_at      timestamptz NOT NULL,
    left_at         timestamptz CHECK (left_at >= entered_at),
    PRIMARY KEY (organization_id, id),
    CONSTRAINT deal_stage_history_deal_fkey FOREIGN KEY (organization_id, deal_id)
        REFERENCES deals (organization_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX deal_stage_history_open_idx ON deal_stage_history (organization_id, deal_id) WHERE left_at IS NULL;
CREATE INDEX deal_stage_history_deal_idx ON deal_stage_history (organization_id, deal_id, entered_at, id);
CREATE INDEX deal_stage_history_stage_idx ON deal_stage_history (organization_id, pipeline_id, stage, deal_id);
CREATE INDEX deal_stage_history_left_idx ON deal_stage_history (organization_id, pipeline_id, left_at) WHERE left_at IS NOT NULL;

ALTER TABLE deal_stage_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE deal_stage_history FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deal_stage_history
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- Backfill from the timelines: a deal's first visit is of the stage its first stage change
-- left (else of its current stage), from its creation; each stage change ends a visit and
-- starts one of the stage it went to. The last visit is open, or ends at closed_at for a
-- deal that is won or lost.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        INSERT INTO deal_stage_history (organization_id, deal_id, pipeline_id, stage, entered_at, left_at)
        WITH ch AS (
            SELECT c.deal_id, c.from_value, c.to_value, c.created_at,
                   row_number() OVER (PARTITION BY c.deal_id ORDER BY c.created_at, c.id) AS seq
            FROM timeline_changes(org, 'stage_changed') c
        ), visits AS (
            SELECT d.id AS deal_id, coalesce(f.from_value, d.stage) AS stage, d.created_at AS entered_at, 0::bigint AS seq
            FROM deals d LEFT JOIN ch f ON f.deal_id = d.id AND f.seq = 1
            WHERE d.organization_id = org
            UNION ALL
            SELECT ch.deal_id, ch.to_value, ch.created_at, ch.seq FROM ch
        )
        SELECT org, v.deal_id, d.pipeline_id, v.stage, v.entered_at,
               coalesce(lead(v.entered_at) OVER (PARTITION BY v.deal_id ORDER BY v.seq),
                        CASE WHEN d.status IN ('won', 'lost') THEN greatest(d.closed_at, v.entered_at) END)
        FROM visits v JOIN deals d ON d.organization_id = org AND d.id = v.deal_id;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

-- Every deal starts with a visit of the stage it is created at, whoever inserts it (the
-- service, a seed, direct SQL); a deal created won or lost has it ended at once.
CREATE FUNCTION deals_first_visit() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO deal_stage_history (organization_id, deal_id, pipeline_id, stage, entered_at, left_at)
    VALUES (NEW.organization_id, NEW.id, NEW.pipeline_id, NEW.stage, NEW.stage_entered_at,
            CASE WHEN NEW.status IN ('won', 'lost') THEN greatest(NEW.closed_at, NEW.stage_entered_at) END);
    RETURN NULL;
END
$$;
CREATE TRIGGER deals_first_visit AFTER INSERT ON deals
    FOR EACH ROW EXECUTE FUNCTION deals_first_visit();

-- migrate:down
DROP TRIGGER deals_first_visit ON deals;
DROP FUNCTION deals_first_visit();
DROP TABLE deal_stage_history;
