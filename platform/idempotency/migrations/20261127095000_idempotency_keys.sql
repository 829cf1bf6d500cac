-- migrate:up
-- Responses of creating requests sent with an Idempotency-Key, kept 24 hours, so that a
-- client retrying after a lost response gets the first answer instead of a duplicate.
CREATE TABLE idempotency_keys (
    user_id         bigint      NOT NULL,          -- 0 for requests without a user (sign-up)
    organization_id bigint      NOT NULL,          -- 0 for requests outside an organization
    key             text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash    bytea       NOT NULL,
    status          integer,                        -- null while the first request runs
    headers         jsonb,
    body            bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, organization_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- migrate:down
DROP TABLE idempotency_keys;
