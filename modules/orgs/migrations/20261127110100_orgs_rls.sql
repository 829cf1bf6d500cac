-- migrate:up
-- Row-level security: a membership is visible in its organization's context, and to the user
-- it belongs to (who lists their organizations before choosing one).
ALTER TABLE organization_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organization_members
    USING (organization_id = current_organization_id() OR user_id = current_app_user_id())
    WITH CHECK (organization_id = current_organization_id());

-- migrate:down
DROP POLICY tenant_isolation ON organization_members;
ALTER TABLE organization_members NO FORCE ROW LEVEL SECURITY;
ALTER TABLE organization_members DISABLE ROW LEVEL SECURITY;
