-- migrate:up
-- Webhook endpoints of an organization. secret and previous_secret are the signing secrets
-- encrypted with a key derived from the service's secret (AES-256-GCM, nonce first); the
-- previous one keeps signing until previous_secret_expires_at after a rotation.
-- failing_since is when the endpoint last went from answering 2xx to failing: with no 2xx
-- since for WEBHOOK_DISABLE_AFTER, the endpoint is disabled.
CREATE TABLE webhook_endpoints (
    organization_id            bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                         bigint      GENERATED ALWAYS AS IDENTITY,
    url                        text        NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    events                     text[]      NOT NULL CHECK (cardinality(events) >= 1),
    description                text        CHECK (length(description) <= 500),
    enabled                    boolean     NOT NULL DEFAULT true,
    disabled_reason            text,
    secret                     bytea       NOT NULL,
    previous_secret            bytea,
    previous_secret_expires_at timestamptz,
    failing_since              timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
);
CREATE INDEX webhook_endpoints_list_idx ON webhook_endpoints (organization_id, created_at DESC, id DESC);

-- The delivery log: one row per event and endpoint, with the outcome of its last attempt.
-- error is a fixed code, never a raw message; response_body the first KiB of the answer.
CREATE TABLE webhook_deliveries (
    organization_id bigint      NOT NULL,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    endpoint_id     bigint      NOT NULL,
    event_id        bigint      NOT NULL,
    event_type      text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,
    response_status integer,
    duration_ms     integer,
    error           text        CHECK (error IN ('timeout', 'connection_failed', 'destination_not_allowed',
                                                 'tls_error', 'http_status', 'redirect')),
    response_body   bytea       CHECK (length(response_body) <= 1024),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, endpoint_id) REFERENCES webhook_endpoints (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (organization_id, endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (organization_id, endpoint_id) WHERE status = 'pending';

-- migrate:down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
