-- migrate:up
-- Row-level security: beside the explicit organization filter of every query, the database
-- itself shows and accepts only the current organization's rows (see platform/database).
ALTER TABLE deals ENABLE ROW LEVEL SECURITY;
ALTER TABLE deals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deals
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- migrate:down
DROP POLICY tenant_isolation ON deals;
ALTER TABLE deals NO FORCE ROW LEVEL SECURITY;
ALTER TABLE deals DISABLE ROW LEVEL SECURITY;
