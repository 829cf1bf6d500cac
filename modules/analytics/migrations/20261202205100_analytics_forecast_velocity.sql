-- migrate:up
-- The read model of the forecast, of velocity's won deals and of the funnel's reached (see
-- the package comment of modules/analytics), kept in step by dealsapi.DealWritten in the
-- deal-write transaction like analytics_deal_totals, and recounted by analytics_recount from
-- the deals module's functions.

-- Open deals per pipeline, expected close month (its first day; 'infinity' without a date),
-- stage, currency and whether they override their stage's probability. amount_prob is the
-- sum of amount × override of the overriding ones (0 for the others, whose weight is their
-- stage's probability when the forecast is read).
CREATE TABLE analytics_deals_open (
    organization_id bigint        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pipeline_id     bigint        NOT NULL,
    month           date          NOT NULL,
    stage           text          NOT NULL,
    currency        char(3)       NOT NULL,
    overridden      boolean       NOT NULL,
    deals           bigint        NOT NULL,
    amount          numeric(30,2) NOT NULL,
    amount_prob     numeric(33,2) NOT NULL,
    PRIMARY KEY (organization_id, pipeline_id, month, stage, currency, overridden)
);

-- Won deals per pipeline, UTC day of closed_at and currency, with the sum of their times
-- from creation to closing in microseconds.
CREATE TABLE analytics_deals_won (
    organization_id bigint        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pipeline_id     bigint        NOT NULL,
    day             date          NOT NULL,
    currency        char(3)       NOT NULL,
    deals           bigint        NOT NULL,
    amount          numeric(30,2) NOT NULL,
    to_win_us       numeric(40,0) NOT NULL,
    PRIMARY KEY (organization_id, pipeline_id, day, currency)
);

-- Deals per pipeline and set of stages of it they ever entered (keys sorted bytewise).
CREATE TABLE analytics_deal_paths (
    organization_id bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pipeline_id     bigint NOT NULL,
    stages          text[] NOT NULL,
    deals           bigint NOT NULL,
    PRIMARY KEY (organization_id, pipeline_id, stages)
);

ALTER TABLE analytics_deals_open ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_deals_open FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_deals_open
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());
ALTER TABLE analytics_deals_won ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_deals_won FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_deals_won
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());
ALTER TABLE analytics_deal_paths ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_deal_paths FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_deal_paths
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

CREATE OR REPLACE FUNCTION analytics_recount(org bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM set_config('app.organization_id', org::text, true);
    DELETE FROM analytics_deal_totals WHERE organization_id = org;
    DELETE FROM analytics_deals_created WHERE organization_id = org;
    DELETE FROM analytics_deals_open WHERE organization_id = org;
    DELETE FROM analytics_deals_won WHERE organization_id = org;
    DELETE FROM analytics_deal_paths WHERE organization_id = org;
    INSERT INTO analytics_deal_totals (organization_id, pipeline_id, status, stage, max_stage, currency, deals, amount)
    SELECT org, t.pipeline_id, t.status, t.stage, t.max_stage, t.currency, t.deals, t.amount
    FROM deals_stage_totals(org) t;
    INSERT INTO analytics_deals_created (organization_id, day, deals)
    SELECT org, c.day, c.deals
    FROM deals_created_per_day(org) c;
    INSERT INTO analytics_deals_open (organization_id, pipeline_id, month, stage, currency, overridden, deals, amount, amount_prob)
    SELECT org, o.pipeline_id, o.month, o.stage, o.currency, o.overridden, o.deals, o.amount, o.amount_prob
    FROM deals_open_by_close_month(org) o;
    INSERT INTO analytics_deals_won (organization_id, pipeline_id, day, currency, deals, amount, to_win_us)
    SELECT org, w.pipeline_id, w.day, w.currency, w.deals, w.amount, w.to_win_us
    FROM deals_won_per_day(org) w;
    INSERT INTO analytics_deal_paths (organization_id, pipeline_id, stages, deals)
    SELECT org, v.pipeline_id, v.stages, v.deals
    FROM deals_visited_sets(org) v;
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
DROP TABLE analytics_deal_paths;
DROP TABLE analytics_deals_won;
DROP TABLE analytics_deals_open;
