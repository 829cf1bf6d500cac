-- migrate:up
-- The changes recorded on the organization's timelines as activities of type typ whose payload
-- is {"from": ..., "to": ...} (status_changed, stage_changed), oldest first: what other modules'
-- migrations derive history from without reading the activities table. It runs with the
-- caller's rights, under row-level security of activities.
CREATE FUNCTION timeline_changes(org bigint, typ text)
    RETURNS TABLE (id bigint, deal_id bigint, from_value text, to_value text, created_at timestamptz)
    LANGUAGE sql STABLE
    AS $$ SELECT a.id, a.deal_id, a.payload->>'from', a.payload->>'to', a.created_at
          FROM activities a
          WHERE a.organization_id = org AND a.type = typ
          ORDER BY a.created_at, a.id $$;

-- migrate:down
DROP FUNCTION timeline_changes(bigint, text);
