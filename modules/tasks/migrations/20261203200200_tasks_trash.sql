-- migrate:up
-- The trash: DELETE of a task sets deleted_at and who did it (deleted_by_type,
-- deleted_by_id, an actor as the change feed renders it) instead of removing the row.
-- with_deal marks the tasks that went to the trash with their deal (the deal's DELETE took
-- its live tasks along): the deal's restore brings back exactly those, and not a task of the
-- deal that was deleted on its own before.
ALTER TABLE tasks
    ADD COLUMN deleted_at      timestamptz,
    ADD COLUMN deleted_by_type text CHECK (deleted_by_type IN ('user', 'api_key', 'system')),
    ADD COLUMN deleted_by_id   bigint,
    ADD COLUMN with_deal       boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT tasks_deleted_by_check CHECK ((deleted_at IS NULL) = (deleted_by_type IS NULL)),
    ADD CONSTRAINT tasks_with_deal_check CHECK (NOT with_deal OR deleted_at IS NOT NULL);

-- A task in the trash is hidden from every statement of the service unless the transaction
-- announces that it works on the trash (app.include_trashed, database.IncludeTrashed).
CREATE POLICY live_rows ON tasks AS RESTRICTIVE FOR SELECT
    USING (deleted_at IS NULL OR current_setting('app.include_trashed', true) = 'on');

-- The tasks that went with a deal, found by its restore.
CREATE INDEX tasks_with_deal_idx ON tasks (organization_id, deal_id) WHERE with_deal;

-- migrate:down
DROP INDEX tasks_with_deal_idx;
DROP POLICY live_rows ON tasks;
ALTER TABLE tasks
    DROP CONSTRAINT tasks_with_deal_check,
    DROP CONSTRAINT tasks_deleted_by_check,
    DROP COLUMN with_deal,
    DROP COLUMN deleted_by_id,
    DROP COLUMN deleted_by_type,
    DROP COLUMN deleted_at;
