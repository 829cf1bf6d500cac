-- migrate:up
-- The delivery log is kept as long as the events it delivered (EVENT_RETENTION): finished
-- deliveries created before the cutoff are removed by a periodic job, across organizations,
-- in batches. It runs as the owner of the table; the application role only calls it.
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (created_at) WHERE status <> 'pending';

CREATE FUNCTION webhook_deliveries_purge(cutoff timestamptz, batch integer) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    WITH gone AS (
        DELETE FROM webhook_deliveries d
        WHERE (d.organization_id, d.id) IN (SELECT o.organization_id, o.id FROM webhook_deliveries o
                                            WHERE o.created_at < cutoff AND o.status <> 'pending' LIMIT batch)
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$;

-- migrate:down
DROP FUNCTION webhook_deliveries_purge(timestamptz, integer);
DROP INDEX webhook_deliveries_finished_idx;
