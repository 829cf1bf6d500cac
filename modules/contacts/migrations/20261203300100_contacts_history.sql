-- migrate:up
-- The field history of contacts: one row per write that changed a contact (a PATCH, or a
-- merge filling its empty fields), with who made it and, per field, the value before and
-- after as GET /contacts/{id} renders them ({"email": {"from": null, "to": "a@b.example"}}).
-- Rows go with their contact (a merge deletes the absorbed contacts, and their history, for
-- good).
CREATE TABLE contact_history (
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    contact_id      bigint      NOT NULL,
    -- The updated_at of the write (the time of its statement, not of its transaction's
    -- start): writers of one contact queue on its row lock, and the history lists their
    -- changes in the order they were made.
    changed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_type      text        NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system')),
    actor_id        bigint      CHECK ((actor_type = 'system') = (actor_id IS NULL)),
    changes         jsonb       NOT NULL CHECK (jsonb_typeof(changes) = 'object' AND changes <> '{}'),
    PRIMARY KEY (organization_id, id),
    CONSTRAINT contact_history_contact_fkey FOREIGN KEY (organization_id, contact_id)
        REFERENCES contacts (organization_id, id) ON DELETE CASCADE
);
-- A contact's history, newest first, and the cascade from a deleted contact.
CREATE INDEX contact_history_contact_idx ON contact_history (organization_id, contact_id, changed_at DESC, id DESC);

ALTER TABLE contact_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_history FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_history
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- migrate:down
DROP TABLE contact_history;
