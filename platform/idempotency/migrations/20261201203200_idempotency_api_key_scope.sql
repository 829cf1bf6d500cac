-- migrate:up
-- Keys are scoped to the API key too: a key acts for its creator, with the creator's user id,
-- and must not share key space with the creator's own requests (or with their other keys).
-- People's requests keep api_key_id 0.
ALTER TABLE idempotency_keys ADD COLUMN api_key_id bigint NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (user_id, organization_id, api_key_id, key);

-- migrate:down
DELETE FROM idempotency_keys WHERE api_key_id <> 0;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (user_id, organization_id, key);
ALTER TABLE idempotency_keys DROP COLUMN api_key_id;
