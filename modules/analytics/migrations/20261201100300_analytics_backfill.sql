-- migrate:up
-- analytics_recount(org) replaces the read model of one organization by what the deals
-- module reports of its deals. The counts come from functions of the deals module
-- (deals_pipeline_totals, deals_created_per_day), because only a table's module reads it. It
-- runs under the organization's own tenant setting, so that the deals are seen where
-- row-level security applies to the calling role. The backfill below and the rebuild of the
-- read model (modules/analytics/rebuild.go) both use it, so they cannot drift apart.
CREATE FUNCTION analytics_recount(org bigint) RETURNS void
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

-- Backfill for a database whose deals predate the read model: every organization (from the
-- orgs module's organization_ids) that has no row yet is counted. Organizations with rows
-- were filled by the first analytics migration or are kept in step by deal writes, and are
-- left alone, so the backfill never counts a deal twice.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        CONTINUE WHEN EXISTS (SELECT 1 FROM analytics_deal_totals WHERE organization_id = org)
                   OR EXISTS (SELECT 1 FROM analytics_deals_created WHERE organization_id = org);
        PERFORM analytics_recount(org);
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

-- migrate:down
-- The rows stay: they are the read model, which the first analytics migration's down drops.
DROP FUNCTION analytics_recount(bigint);
