-- migrate:up
-- Kept counts of the deal list: how many live deals (not in the trash) each combination of
-- pipeline, stage, status and owner has. Statement triggers keep them in the transaction of
-- every write, so that a list filtered only by those (or not at all) reports an exact total
-- without counting rows. Each combination is spread over eight slots, picked by the writing
-- connection, so that concurrent writers of one organization seldom wait on the same row; a
-- total is the sum over the slots.
CREATE TABLE deal_counts (
    organization_id bigint   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pipeline_id     bigint   NOT NULL,
    stage           text     NOT NULL,
    status          text     NOT NULL,
    owner_id        bigint   NOT NULL,
    slot            smallint NOT NULL,
    n               bigint   NOT NULL,
    PRIMARY KEY (organization_id, pipeline_id, stage, status, owner_id, slot)
);
ALTER TABLE deal_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE deal_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deal_counts
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

CREATE FUNCTION deal_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_counts AS c (organization_id, pipeline_id, stage, status, owner_id, slot, n)
    SELECT organization_id, pipeline_id, stage, status, owner_id, pg_backend_pid() % 8, count(*)
    FROM new_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, stage, status, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION deal_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_counts AS c (organization_id, pipeline_id, stage, status, owner_id, slot, n)
    SELECT organization_id, pipeline_id, stage, status, owner_id, pg_backend_pid() % 8, -count(*)
    FROM old_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, stage, status, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

-- An update moves a deal between combinations only when one of the counted columns (or its
-- place in the trash) changes; most updates change none and write nothing here.
CREATE FUNCTION deal_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_counts AS c (organization_id, pipeline_id, stage, status, owner_id, slot, n)
    SELECT organization_id, pipeline_id, stage, status, owner_id, pg_backend_pid() % 8, sum(d)
    FROM (
        SELECT organization_id, pipeline_id, stage, status, owner_id, 1 AS d FROM new_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT organization_id, pipeline_id, stage, status, owner_id, -1 FROM old_rows WHERE deleted_at IS NULL
    ) moved
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(d) <> 0
    ON CONFLICT (organization_id, pipeline_id, stage, status, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER deal_counts_insert AFTER INSERT ON deals
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deal_counts_add();
CREATE TRIGGER deal_counts_delete AFTER DELETE ON deals
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION deal_counts_remove();
CREATE TRIGGER deal_counts_update AFTER UPDATE ON deals
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deal_counts_move();

-- The counts of the deals there are, one organization at a time under its tenant setting.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        INSERT INTO deal_counts (organization_id, pipeline_id, stage, status, owner_id, slot, n)
        SELECT organization_id, pipeline_id, stage, status, owner_id, 0, count(*)
        FROM deals WHERE organization_id = org AND deleted_at IS NULL
        GROUP BY 1, 2, 3, 4, 5;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

-- migrate:down
DROP TRIGGER deal_counts_update ON deals;
DROP TRIGGER deal_counts_delete ON deals;
DROP TRIGGER deal_counts_insert ON deals;
DROP FUNCTION deal_counts_move();
DROP FUNCTION deal_counts_remove();
DROP FUNCTION deal_counts_add();
DROP TABLE deal_counts;
