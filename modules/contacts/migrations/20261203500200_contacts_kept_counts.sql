-- migrate:up
-- Kept counts of the contact list: how many live contacts (not in the trash) each owner has.
-- Statement triggers keep them in the transaction of every write, so that the list unfiltered
-- or filtered only by owner reports an exact total without counting rows. Each owner is spread over eight slots, picked by the writing
-- connection, so that concurrent writers of one organization seldom wait on the same row; a
-- total is the sum over the slots.
CREATE TABLE contact_counts (
    organization_id bigint   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    owner_id        bigint   NOT NULL,
    slot            smallint NOT NULL,
    n               bigint   NOT NULL,
    PRIMARY KEY (organization_id, owner_id, slot)
);
ALTER TABLE contact_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_counts
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

CREATE FUNCTION contact_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_counts AS c (organization_id, owner_id, slot, n)
    SELECT organization_id, owner_id, pg_backend_pid() % 8, count(*)
    FROM new_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2
    ON CONFLICT (organization_id, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION contact_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_counts AS c (organization_id, owner_id, slot, n)
    SELECT organization_id, owner_id, pg_backend_pid() % 8, -count(*)
    FROM old_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2
    ON CONFLICT (organization_id, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

-- An update moves a contact between owners, or into or out of the trash; most updates do
-- neither and write nothing here.
CREATE FUNCTION contact_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_counts AS c (organization_id, owner_id, slot, n)
    SELECT organization_id, owner_id, pg_backend_pid() % 8, sum(d)
    FROM (
        SELECT organization_id, owner_id, 1 AS d FROM new_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT organization_id, owner_id, -1 FROM old_rows WHERE deleted_at IS NULL
    ) moved
    GROUP BY 1, 2
    HAVING sum(d) <> 0
    ON CONFLICT (organization_id, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER contact_counts_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_counts_add();
CREATE TRIGGER contact_counts_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_counts_remove();
CREATE TRIGGER contact_counts_update AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_counts_move();

-- The counts of the contacts there are, one organization at a time under its tenant setting.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        INSERT INTO contact_counts (organization_id, owner_id, slot, n)
        SELECT organization_id, owner_id, 0, count(*)
        FROM contacts WHERE organization_id = org AND deleted_at IS NULL
        GROUP BY 1, 2;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

-- migrate:down
DROP TRIGGER contact_counts_update ON contacts;
DROP TRIGGER contact_counts_delete ON contacts;
DROP TRIGGER contact_counts_insert ON contacts;
DROP FUNCTION contact_counts_move();
DROP FUNCTION contact_counts_remove();
DROP FUNCTION contact_counts_add();
DROP TABLE contact_counts;
