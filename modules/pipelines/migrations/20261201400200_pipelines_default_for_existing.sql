-- migrate:up
-- Every organization that existed before pipelines gets the default pipeline (organizations
-- created later get it in the transaction that creates them). The ids come from the orgs
-- module's organization_ids(); each organization is written under its own tenant setting, so
-- that the row-level security of the new tables admits the rows whatever role migrates.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        CONTINUE WHEN EXISTS (SELECT 1 FROM pipelines WHERE organization_id = org AND is_default);
        PERFORM pipelines_create_default(org);
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

-- migrate:down
-- The pipelines go with their tables (the previous migration's down).
