-- migrate:up
-- Events are appended in time order, so a BRIN index finds the retention job's old events as
-- well as a B-tree does, and costs a write next to nothing to maintain (a B-tree entry per
-- event was a fifth of the outbox's index work).
DROP INDEX events_occurred;
CREATE INDEX events_occurred ON events USING brin (occurred_at);

-- migrate:down
DROP INDEX events_occurred;
CREATE INDEX events_occurred ON events (occurred_at);
