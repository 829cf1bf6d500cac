-- migrate:up
-- The total of the unfiltered deal list, kept per organization. deal_counts holds one row per
-- pipeline, stage, status and owner in each of its slots: thousands of rows for a large
-- organization once its writers have spread over the slots, all of them summed for a total of
-- the unfiltered list, the one every client asks for first. deal_counts_org keeps that total
-- in at most eight rows (slots as in deal_counts). The same statement triggers keep both;
-- an update changes the organization's total only when it moves a deal into or out of the
-- trash, so most updates write nothing here.
CREATE TABLE deal_counts_org (
    organization_id bigint   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    slot            smallint NOT NULL CHECK (slot BETWEEN 0 AND 7),
    n               bigint   NOT NULL,
    PRIMARY KEY (organization_id, slot)
);
ALTER TABLE deal_counts_org ENABLE ROW LEVEL SECURITY;
ALTER TABLE deal_counts_org FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deal_counts_org
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

CREATE OR REPLACE FUNCTION deal_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_counts AS c (organization_id, pipeline_id, stage, status, owner_id, slot, n)
    SELECT organization_id, pipeline_id, stage, status, owner_id, pg_backend_pid() % 8, count(*)
    FROM new_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, stage, status, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    INSERT INTO deal_counts_org AS c (organization_id, slot, n)
    SELECT organization_id, pg_backend_pid() % 8, count(*)
    FROM new_rows WHERE deleted_at IS NULL
    GROUP BY 1
    ON CONFLICT (organization_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION deal_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_counts AS c (organization_id, pipeline_id, stage, status, owner_id, slot, n)
    SELECT organization_id, pipeline_id, stage, status, owner_id, pg_backend_pid() % 8, -count(*)
    FROM old_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, stage, status, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    INSERT INTO deal_counts_org AS c (organization_id, slot, n)
    SELECT organization_id, pg_backend_pid() % 8, -count(*)
    FROM old_rows WHERE deleted_at IS NULL
    GROUP BY 1
    ON CONFLICT (organization_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION deal_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
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
    INSERT INTO deal_counts_org AS c (organization_id, slot, n)
    SELECT organization_id, pg_backend_pid() % 8, sum(d)
    FROM (
        SELECT organization_id, 1 AS d FROM new_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT organization_id, -1 FROM old_rows WHERE deleted_at IS NULL
    ) moved
    GROUP BY 1
    HAVING sum(d) <> 0
    ON CONFLICT (organization_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

-- The totals of the deals there are, one organization at a time under its tenant setting.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        INSERT INTO deal_counts_org (organization_id, slot, n)
        SELECT org, 0, count(*) FROM deals WHERE organization_id = org AND deleted_at IS NULL;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION deal_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_counts AS c (organization_id, pipeline_id, stage, status, owner_id, slot, n)
    SELECT organization_id, pipeline_id, stage, status, owner_id, pg_backend_pid() % 8, count(*)
    FROM new_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, stage, status, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION deal_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_counts AS c (organization_id, pipeline_id, stage, status, owner_id, slot, n)
    SELECT organization_id, pipeline_id, stage, status, owner_id, pg_backend_pid() % 8, -count(*)
    FROM old_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, stage, status, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION deal_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
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

DROP TABLE deal_counts_org;
