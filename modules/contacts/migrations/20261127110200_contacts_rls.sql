-- migrate:up
-- Row-level security: beside the explicit organization filter of every query, the database
-- itself shows and accepts only the current organization's rows (see platform/database).
ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contacts
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- migrate:down
DROP POLICY tenant_isolation ON contacts;
ALTER TABLE contacts NO FORCE ROW LEVEL SECURITY;
ALTER TABLE contacts DISABLE ROW LEVEL SECURITY;
