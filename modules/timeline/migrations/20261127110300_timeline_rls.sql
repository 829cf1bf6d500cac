-- migrate:up
-- Row-level security: beside the explicit organization filter of every query, the database
-- itself shows and accepts only the current organization's rows (see platform/database).
ALTER TABLE activities ENABLE ROW LEVEL SECURITY;
ALTER TABLE activities FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON activities
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- migrate:down
DROP POLICY tenant_isolation ON activities;
ALTER TABLE activities NO FORCE ROW LEVEL SECURITY;
ALTER TABLE activities DISABLE ROW LEVEL SECURITY;
