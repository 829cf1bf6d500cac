-- migrate:up
-- API keys: credentials with which software acts for an organization, each for the member who
-- created it. Only the SHA-256 of a token is stored; prefix (the first 8 characters after
-- "crm_") lets people tell their keys apart. A revoked key keeps its row, listed with
-- revoked_at.
CREATE TABLE api_keys (
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role            text        NOT NULL CHECK (role IN ('admin', 'manager', 'member')),
    prefix          text        NOT NULL CHECK (length(prefix) = 8),
    token_hash      bytea       NOT NULL CHECK (length(token_hash) = 32),
    created_by      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    last_used_at    timestamptz,
    revoked_at      timestamptz,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX api_keys_token_hash_idx ON api_keys (token_hash);
CREATE INDEX api_keys_list_idx ON api_keys (organization_id, created_at, id);
CREATE INDEX api_keys_creator_idx ON api_keys (organization_id, created_by) WHERE revoked_at IS NULL;

-- Row-level security like every tenant table. One more policy lets a request find its key
-- before any organization is known: the lookup announces the hash of the token it was given
-- (the transaction-local setting app.api_key_hash), and only the row with that hash becomes
-- visible, for reading. Seeing a key takes knowing its token.
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());
CREATE POLICY token_lookup ON api_keys FOR SELECT
    USING (token_hash = decode(nullif(current_setting('app.api_key_hash', true), ''), 'hex'));

-- The key a token's hash authenticates, with the role of its creator in its organization, in
-- one statement: no row when the key is unknown, revoked or expired, or its creator is no
-- longer a member (creator_role is then NULL and the key is refused). It announces the hash
-- to the token_lookup policy, and the creator as the acting user to the memberships' policy,
-- and puts both settings back as they were before it returns.
CREATE FUNCTION api_key_authenticate(hash bytea)
    RETURNS TABLE (key_id bigint, org_id bigint, creator_id bigint, key_role text, creator_role text)
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    k record;
    found_key boolean;
    prev_hash text := current_setting('app.api_key_hash', true);
    prev_user text := current_setting('app.user_id', true);
    member_role text;
BEGIN
    PERFORM set_config('app.api_key_hash', encode(hash, 'hex'), true);
    SELECT a.id, a.organization_id, a.created_by, a.role INTO k
        FROM api_keys a
        WHERE a.token_hash = hash AND a.revoked_at IS NULL AND (a.expires_at IS NULL OR a.expires_at > now());
    found_key := FOUND;
    PERFORM set_config('app.api_key_hash', coalesce(prev_hash, ''), true);
    IF NOT found_key THEN
        RETURN;
    END IF;
    PERFORM set_config('app.user_id', k.created_by::text, true);
    member_role := organization_member_role(k.organization_id, k.created_by);
    PERFORM set_config('app.user_id', coalesce(prev_user, ''), true);
    IF member_role IS NULL THEN
        RETURN;
    END IF;
    key_id := k.id;
    org_id := k.organization_id;
    creator_id := k.created_by;
    key_role := k.role;
    creator_role := member_role;
    RETURN NEXT;
END
$$;

-- migrate:down
DROP FUNCTION api_key_authenticate(bytea);
DROP TABLE api_keys;
