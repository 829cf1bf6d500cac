-- migrate:up
-- The change feed's outbox. A write records its event in its own transaction (no change without
-- its event, no event for a change that rolled back); the event gets its feed position only
-- after it has committed, from one sequencer (events_sequence below), so positions become
-- visible in the order they are given and a reader following them never skips an event that
-- committed late with an earlier id, and never waits for a long transaction of another
-- organization.
CREATE TABLE events (
    organization_id bigint      NOT NULL,
    id              bigserial,
    position        bigint,                          -- NULL until sequenced
    type            text        NOT NULL,
    audience        smallint    NOT NULL DEFAULT 0,  -- 0 everyone, 1 owner and admin, 2 endpoint only
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    actor_type      text        NOT NULL,
    actor_id        bigint,
    data            json        NOT NULL,            -- json, not jsonb: kept as rendered, key order included
    PRIMARY KEY (organization_id, id),
    CONSTRAINT events_audience CHECK (audience BETWEEN 0 AND 2),
    CONSTRAINT events_actor CHECK (actor_type IN ('user', 'api_key', 'system'))
);
-- The feed reads one organization's range of positions.
CREATE UNIQUE INDEX events_feed ON events (organization_id, position) WHERE position IS NOT NULL;
-- The sequencer's queue: committed events still waiting for a position.
CREATE INDEX events_unsequenced ON events (id) WHERE position IS NULL;
-- The retention job.
CREATE INDEX events_occurred ON events (occurred_at);

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- The last position given. Its row lock serialises sequencers (two replicas may run one at the
-- same moment): the second waits until the first has committed, then continues after it.
CREATE TABLE event_sequencer (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_position bigint  NOT NULL
);
INSERT INTO event_sequencer VALUES (true, 0);
REVOKE ALL ON event_sequencer FROM crm_app;

-- Gives the next positions to up to batch committed, unsequenced events of every
-- organization, in id order, and returns them. It runs as the owner of the tables (the
-- sequencer works across organizations); the application role can call it but not touch
-- event_sequencer.
CREATE FUNCTION events_sequence(batch integer)
    RETURNS TABLE (organization_id bigint, id bigint, "position" bigint, type text, audience smallint)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    base bigint;
    n    bigint;
BEGIN
    SELECT s.last_position INTO base FROM event_sequencer s FOR UPDATE;
    RETURN QUERY
    WITH picked AS (
        SELECT w.organization_id, w.id, base + row_number() OVER (ORDER BY w.id) AS pos
        FROM (SELECT e.organization_id, e.id FROM events e
              WHERE e.position IS NULL ORDER BY e.id LIMIT batch) w
    )
    UPDATE events e SET position = p.pos
    FROM picked p
    WHERE e.organization_id = p.organization_id AND e.id = p.id
    RETURNING e.organization_id, e.id, e.position, e.type, e.audience;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        UPDATE event_sequencer SET last_position = base + n;
    END IF;
END
$$;

-- Removes up to batch events that occurred before cutoff, of every organization; returns how
-- many it removed.
CREATE FUNCTION events_purge(cutoff timestamptz, batch integer) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    WITH gone AS (
        DELETE FROM events e
        WHERE (e.organization_id, e.id) IN (SELECT o.organization_id, o.id FROM events o
                                            WHERE o.occurred_at < cutoff LIMIT batch)
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$;

-- Every statement that records events wakes the sequencers once its transaction commits
-- (a notification sent in a transaction is delivered at commit, and never on rollback).
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crm_events', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

-- migrate:down
DROP TRIGGER events_notify ON events;
DROP FUNCTION events_notify();
DROP FUNCTION events_purge(timestamptz, integer);
DROP FUNCTION events_sequence(integer);
DROP TABLE event_sequencer;
DROP TABLE events;
