-- migrate:up
-- The analytics read model (see the package comment of modules/analytics). The deals module
-- emits every change of a deal's status, stage, furthest stage, currency or amount inside
-- its transaction, and analytics applies it here in that same transaction.

-- Deals and their sum per status, stage, furthest stage reached and currency. Stages are
-- ordinals: qualification 1, proposal 2, negotiation 3, closed 4. The sum is wider than a
-- deal's numeric(14,2): it holds up to 10^16 deals of the largest amount.
CREATE TABLE analytics_deal_totals (
    -- The organization's rows go with it, as its deals do (by cascade, without events).
    organization_id bigint        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    status          text          NOT NULL CHECK (status IN ('new', 'in_progress', 'won', 'lost')),
    stage           smallint      NOT NULL CHECK (stage BETWEEN 1 AND 4),
    max_stage       smallint      NOT NULL CHECK (max_stage BETWEEN stage AND 4),
    currency        char(3)       NOT NULL,
    deals           bigint        NOT NULL,
    amount          numeric(30,2) NOT NULL,
    PRIMARY KEY (organization_id, status, stage, max_stage, currency)
);

-- Deals created per UTC day, for "deals created within the last N days".
CREATE TABLE analytics_deals_created (
    organization_id bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day             date   NOT NULL,
    deals           bigint NOT NULL,
    PRIMARY KEY (organization_id, day)
);

-- The backfill from the deals that exist is 20261201100300_analytics_backfill.sql: it asks
-- the deals module for its counts instead of reading the deals table. This migration once
-- read that table itself; in a database where it ran so, the later one finds the rows it
-- wrote and leaves them. Either way the schema this migration makes is the same.

-- Row-level security: beside the explicit organization filter of every query, the database
-- itself shows and accepts only the current organization's rows (see platform/database).
ALTER TABLE analytics_deal_totals ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_deal_totals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_deal_totals
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

ALTER TABLE analytics_deals_created ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_deals_created FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_deals_created
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- migrate:down
DROP TABLE analytics_deals_created;
DROP TABLE analytics_deal_totals;
