-- migrate:up
-- Row-level security like every tenant table: a caller sees and writes only the keys of its
-- own user in its own organization. Requests outside an organization (sign-up, creating an
-- organization) keep their keys under organization 0, and those without a user under user 0,
-- which is what an unset setting stands for here.
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (organization_id = coalesce(current_organization_id(), 0)
           AND user_id = coalesce(current_app_user_id(), 0))
    WITH CHECK (organization_id = coalesce(current_organization_id(), 0)
                AND user_id = coalesce(current_app_user_id(), 0));
-- Expired keys (older than the 24 hours a response is replayed) may be removed by anyone, so
-- that the periodic clean-up of any request can sweep every tenant's leftovers.
CREATE POLICY expired_cleanup ON idempotency_keys FOR DELETE
    USING (created_at < now() - interval '24 hours');

-- migrate:down
DROP POLICY expired_cleanup ON idempotency_keys;
DROP POLICY tenant_isolation ON idempotency_keys;
ALTER TABLE idempotency_keys NO FORCE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys DISABLE ROW LEVEL SECURITY;
