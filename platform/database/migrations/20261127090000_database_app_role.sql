-- migrate:up
-- The application's queries run under crm_app (the pool does SET ROLE crm_app on connect):
-- not a superuser, without BYPASSRLS and owning no table, so the row-level security policies
-- of the tenant tables apply to it. Migrations keep running as the connecting (owner) role.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_app') THEN
        CREATE ROLE crm_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
GRANT crm_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO crm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO crm_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO crm_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO crm_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO crm_app;

-- The tenant of the current transaction, as the tenant tables' policies read it: the
-- setting app.organization_id, transaction-local; unset or empty matches no organization.
CREATE FUNCTION current_organization_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.organization_id', true), '')::bigint $$;

-- The user of the current transaction (app.user_id), for tables a user may see across the
-- organizations they belong to (their memberships).
CREATE FUNCTION current_app_user_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::bigint $$;

-- migrate:down
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM crm_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM crm_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM crm_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM crm_app;
REVOKE USAGE ON SCHEMA public FROM crm_app;
DROP FUNCTION current_app_user_id();
DROP FUNCTION current_organization_id();
