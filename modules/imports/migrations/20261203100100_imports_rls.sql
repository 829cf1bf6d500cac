-- migrate:up
-- Row-level security, as on every tenant table (see platform/database).
ALTER TABLE imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON imports
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

ALTER TABLE import_uploads ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_uploads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_uploads
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- migrate:down
DROP POLICY tenant_isolation ON import_uploads;
ALTER TABLE import_uploads NO FORCE ROW LEVEL SECURITY;
ALTER TABLE import_uploads DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON imports;
ALTER TABLE imports NO FORCE ROW LEVEL SECURITY;
ALTER TABLE imports DISABLE ROW LEVEL SECURITY;
