-- migrate:up
-- A token is found by its hash alone, before any organization is known; the hash (32 random
-- bytes) is unique by construction. The unique index also holds organization_id, as every
-- unique key of a tenant table does, so that the table can be distributed by it; it still
-- serves the lookup by hash (its leading column).
DROP INDEX api_keys_token_hash_idx;
CREATE UNIQUE INDEX api_keys_token_hash_idx ON api_keys (token_hash, organization_id);

-- migrate:down
DROP INDEX api_keys_token_hash_idx;
CREATE UNIQUE INDEX api_keys_token_hash_idx ON api_keys (token_hash);
