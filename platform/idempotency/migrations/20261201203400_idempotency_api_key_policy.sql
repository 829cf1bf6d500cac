-- migrate:up
-- A caller sees and writes only the keys of its own user, organization and API key: a request
-- made with an API key (app.api_key_id) and one its creator makes with their own token share
-- user and organization, and still never see each other's records. People keep api_key_id 0.
ALTER POLICY tenant_isolation ON idempotency_keys
    USING (organization_id = coalesce(current_organization_id(), 0)
           AND user_id = coalesce(current_app_user_id(), 0)
           AND api_key_id = coalesce(current_api_key_id(), 0))
    WITH CHECK (organization_id = coalesce(current_organization_id(), 0)
                AND user_id = coalesce(current_app_user_id(), 0)
                AND api_key_id = coalesce(current_api_key_id(), 0));

-- migrate:down
ALTER POLICY tenant_isolation ON idempotency_keys
    USING (organization_id = coalesce(current_organization_id(), 0)
           AND user_id = coalesce(current_app_user_id(), 0))
    WITH CHECK (organization_id = coalesce(current_organization_id(), 0)
                AND user_id = coalesce(current_app_user_id(), 0));
