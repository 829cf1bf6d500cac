-- migrate:up
-- Backfill of the read model for a database whose deals predate it: every organization that
-- has no row yet gets what the deals module reports of its deals. The counts come from
-- functions of the deals module (deals_pipeline_totals, deals_created_per_day) and the
-- organizations from one of the orgs module (organization_ids), because only a table's
-- module reads it. Organizations with rows were filled by the first analytics migration or
-- are kept in step by deal writes, and are left alone, so the backfill never counts a deal
-- twice. Each organization is done under its own tenant setting, so that the deals are seen
-- where row-level security applies to the migrating role. The same statements rebuild the
-- read model (modules/analytics/rebuild.go).
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        CONTINUE WHEN EXISTS (SELECT 1 FROM analytics_deal_totals WHERE organization_id = org)
                   OR EXISTS (SELECT 1 FROM analytics_deals_created WHERE organization_id = org);
        INSERT INTO analytics_deal_totals (organization_id, status, stage, max_stage, currency, deals, amount)
        SELECT org, t.status, t.stage, t.max_stage, t.currency, t.deals, t.amount
        FROM deals_pipeline_totals(org) t;
        INSERT INTO analytics_deals_created (organization_id, day, deals)
        SELECT org, c.day, c.deals
        FROM deals_created_per_day(org) c;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

-- migrate:down
-- The rows stay: they are the read model, which the first analytics migration's down drops.
