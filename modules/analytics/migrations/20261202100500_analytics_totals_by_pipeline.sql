-- migrate:up
-- The read model counts deals per pipeline and stage key: deals now move through the
-- configurable stages of their pipeline. max_stage stays the furthest of the part-1 stages
-- reached (a position 1..4), which the part-1 funnel is computed from. The rows are rebuilt
-- from the deals module's deals_stage_totals by analytics_recount, redefined here.
DROP TABLE analytics_deal_totals;
CREATE TABLE analytics_deal_totals (
    organization_id bigint        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pipeline_id     bigint        NOT NULL,
    status          text          NOT NULL CHECK (status IN ('new', 'in_progress', 'won', 'lost')),
    stage           text          NOT NULL,
    max_stage       smallint      NOT NULL CHECK (max_stage BETWEEN 1 AND 4),
    currency        char(3)       NOT NULL,
    deals           bigint        NOT NULL,
    amount          numeric(30,2) NOT NULL,
    PRIMARY KEY (organization_id, pipeline_id, status, stage, max_stage, currency)
);
ALTER TABLE analytics_deal_totals ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_deal_totals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_deal_totals
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

CREATE OR REPLACE FUNCTION analytics_recount(org bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM set_config('app.organization_id', org::text, true);
    DELETE FROM analytics_deal_totals WHERE organization_id = org;
    DELETE FROM analytics_deals_created WHERE organization_id = org;
    INSERT INTO analytics_deal_totals (organization_id, pipeline_id, status, stage, max_stage, currency, deals, amount)
    SELECT org, t.pipeline_id, t.status, t.stage, t.max_stage, t.currency, t.deals, t.amount
    FROM deals_stage_totals(org) t;
    INSERT INTO analytics_deals_created (organization_id, day, deals)
    SELECT org, c.day, c.deals
    FROM deals_created_per_day(org) c;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM analytics_recount(org);
    END LOOP;
END
$$;

-- migrate:down
DROP TABLE analytics_deal_totals;
CREATE TABLE analytics_deal_totals (
    organization_id bigint        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    status          text          NOT NULL CHECK (status IN ('new', 'in_progress', 'won', 'lost')),
    stage           smallint      NOT NULL CHECK (stage BETWEEN 1 AND 4),
    max_stage       smallint      NOT NULL CHECK (max_stage BETWEEN stage AND 4),
    currency        char(3)       NOT NULL,
    deals           bigint        NOT NULL,
    amount          numeric(30,2) NOT NULL,
    PRIMARY KEY (organization_id, status, stage, max_stage, currency)
);
ALTER TABLE analytics_deal_totals ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_deal_totals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_deal_totals
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());
CREATE OR REPLACE FUNCTION analytics_recount(org bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM set_config('app.organization_id', org::text, true);
    DELETE FROM analytics_deal_totals WHERE organization_id = org;
    DELETE FROM analytics_deals_created WHERE organization_id = org;
    INSERT INTO analytics_deal_totals (organization_id, status, stage, max_stage, currency, deals, amount)
    SELECT org, t.status, t.stage, t.max_stage, t.currency, t.deals, t.amount
    FROM deals_pipeline_totals(org) t;
    INSERT INTO analytics_deals_created (organization_id, day, deals)
    SELECT org, c.day, c.deals
    FROM deals_created_per_day(org) c;
    PERFORM set_config('app.organization_id', '', true);
END
$$;
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM analytics_recount(org);
    END LOOP;
END
$$;
