-- migrate:up
-- The organization's trash: one item per contact, deal or task moved to the trash by its
-- DELETE, written by the owning module in that DELETE's transaction and removed by its
-- restore or its purge. name is what the list shows (a contact's name, a deal's or task's
-- title); deleted_by is the actor as the change feed renders it; purge_at is when the
-- periodic purge deletes the record for good (deleted_at + TRASH_RETENTION at the time).
-- Tasks that went to the trash with their deal have no item of their own: the deal's stands
-- for them.
CREATE TABLE trash_items (
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    object          text        NOT NULL CHECK (object IN ('contact', 'deal', 'task')),
    id              bigint      NOT NULL,
    name            text        NOT NULL,
    deleted_at      timestamptz NOT NULL,
    deleted_by_type text        NOT NULL CHECK (deleted_by_type IN ('user', 'api_key', 'system')),
    deleted_by_id   bigint,
    purge_at        timestamptz NOT NULL,
    PRIMARY KEY (organization_id, object, id)
);
-- The list, newest first, of every type or one.
CREATE INDEX trash_items_list_idx ON trash_items (organization_id, deleted_at, object, id);
CREATE INDEX trash_items_type_idx ON trash_items (organization_id, object, deleted_at, id);
-- The purge's scan across organizations.
CREATE INDEX trash_items_purge_idx ON trash_items (purge_at);

ALTER TABLE trash_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE trash_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON trash_items
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- The organizations with items due for the purge, across organizations, for the periodic job
-- (which then works each one under its own tenant scope). It runs as the owner of the table;
-- the application role only calls it, and it returns nothing but ids.
CREATE FUNCTION trash_due_organizations(cutoff timestamptz) RETURNS SETOF bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT DISTINCT organization_id FROM trash_items WHERE purge_at <= cutoff ORDER BY 1
$$;

-- migrate:down
DROP FUNCTION trash_due_organizations(timestamptz);
DROP TABLE trash_items;
