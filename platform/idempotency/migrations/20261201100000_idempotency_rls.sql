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
-- The periodic sweep of expired keys (older than the 24 hours a response is replayed) sees
-- and removes every caller's, and only while it announces itself with the transaction-local
-- setting app.sweep_expired_keys: other statements never see another caller's keys, expired
-- or not. (A DELETE must also pass a SELECT policy for the rows its WHERE reads.)
CREATE POLICY expired_sweep_select ON idempotency_keys FOR SELECT
    USING (current_setting('app.sweep_expired_keys', true) = 'on' AND created_at < now() - interval '24 hours');
CREATE POLICY expired_sweep_delete ON idempotency_keys FOR DELETE
    USING (current_setting('app.sweep_expired_keys', true) = 'on' AND created_at < now() - interval '24 hours');

-- migrate:down
DROP POLICY expired_sweep_delete ON idempotency_keys;
DROP POLICY expired_sweep_select ON idempotency_keys;
DROP POLICY tenant_isolation ON idempotency_keys;
ALTER TABLE idempotency_keys NO FORCE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys DISABLE ROW LEVEL SECURITY;
