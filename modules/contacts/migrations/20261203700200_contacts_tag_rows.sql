-- migrate:up
-- The total of a contact list filtered by tags counted the matches in contacts through the
-- GIN index of the tags, then visited a heap page for nearly every match (about 6,000 for a
-- tag on 3 % of 200,000 contacts). contact_tags holds one row per live contact (not in the
-- trash) and tag, so that such a total is an index-only range count. Statement triggers on
-- contacts keep it in the transaction of every write: a new contact adds its tags, an update
-- that changes the tags or moves the contact into or out of the trash adds and removes the
-- difference, and a contact deleted for good takes its rows along by the foreign key.
CREATE TABLE contact_tags (
    organization_id bigint NOT NULL,
    tag             text   NOT NULL,
    contact_id      bigint NOT NULL,
    PRIMARY KEY (organization_id, tag, contact_id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id) ON DELETE CASCADE
);
ALTER TABLE contact_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_tags
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());
-- The foreign key's own lookups (a contact deleted for good).
CREATE INDEX contact_tags_contact_idx ON contact_tags (organization_id, contact_id);

CREATE FUNCTION contact_tags_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_tags (organization_id, tag, contact_id)
    SELECT n.organization_id, t.tag, n.id
    FROM new_rows n CROSS JOIN LATERAL unnest(n.tags) AS t (tag)
    WHERE n.deleted_at IS NULL
    ORDER BY 1, 2, 3;
    RETURN NULL;
END
$$;

-- Most updates change neither the tags nor the trash and write nothing here.
CREATE FUNCTION contact_tags_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contact_tags c
    USING (
        SELECT o.organization_id, t.tag, o.id
        FROM old_rows o JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
        CROSS JOIN LATERAL unnest(o.tags) AS t (tag)
        WHERE o.deleted_at IS NULL AND (n.deleted_at IS NOT NULL OR NOT t.tag = ANY (n.tags))
    ) gone (organization_id, tag, id)
    WHERE c.organization_id = gone.organization_id AND c.tag = gone.tag AND c.contact_id = gone.id;
    INSERT INTO contact_tags (organization_id, tag, contact_id)
    SELECT n.organization_id, t.tag, n.id
    FROM new_rows n JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
    CROSS JOIN LATERAL unnest(n.tags) AS t (tag)
    WHERE n.deleted_at IS NULL AND (o.deleted_at IS NOT NULL OR NOT t.tag = ANY (o.tags))
    ORDER BY 1, 2, 3;
    RETURN NULL;
END
$$;

CREATE TRIGGER contact_tags_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_tags_add();
CREATE TRIGGER contact_tags_update AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_tags_move();

-- The tags of the contacts there are, one organization at a time under its tenant setting.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        INSERT INTO contact_tags (organization_id, tag, contact_id)
        SELECT c.organization_id, t.tag, c.id
        FROM contacts c CROSS JOIN LATERAL unnest(c.tags) AS t (tag)
        WHERE c.organization_id = org AND c.deleted_at IS NULL
        ORDER BY 1, 2, 3;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;
ANALYZE contact_tags;

-- migrate:down
DROP TRIGGER contact_tags_update ON contacts;
DROP TRIGGER contact_tags_insert ON contacts;
DROP FUNCTION contact_tags_move();
DROP FUNCTION contact_tags_add();
DROP TABLE contact_tags;
