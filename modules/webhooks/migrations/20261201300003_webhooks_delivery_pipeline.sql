-- migrate:up
-- generation numbers the jobs of a delivery: a manual retry starts a new one, and a job of an
-- older generation sends nothing. in_flight_until is held by the attempt being made, so that
-- two jobs never send one delivery at the same time.
ALTER TABLE webhook_deliveries
    ADD COLUMN generation      integer NOT NULL DEFAULT 0,
    ADD COLUMN in_flight_until timestamptz;

-- At most five requests in flight per endpoint, across every process: an attempt leases one
-- of its endpoint's five slots (FOR UPDATE SKIP LOCKED) until it is done, or until the lease
-- runs out should its process die.
CREATE TABLE webhook_endpoint_slots (
    organization_id bigint      NOT NULL,
    endpoint_id     bigint      NOT NULL,
    slot            smallint    NOT NULL CHECK (slot BETWEEN 1 AND 5),
    leased_until    timestamptz NOT NULL DEFAULT '-infinity',
    PRIMARY KEY (organization_id, endpoint_id, slot),
    FOREIGN KEY (organization_id, endpoint_id) REFERENCES webhook_endpoints (organization_id, id) ON DELETE CASCADE
);
INSERT INTO webhook_endpoint_slots (organization_id, endpoint_id, slot)
SELECT organization_id, id, s FROM webhook_endpoints, generate_series(1, 5) AS s;

ALTER TABLE webhook_endpoint_slots ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoint_slots FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_endpoint_slots
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- migrate:down
DROP TABLE webhook_endpoint_slots;
ALTER TABLE webhook_deliveries DROP COLUMN in_flight_until, DROP COLUMN generation;
