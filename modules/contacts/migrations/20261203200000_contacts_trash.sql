-- migrate:up
-- The trash: DELETE of a contact sets deleted_at and who did it (deleted_by_type,
-- deleted_by_id: an actor rendered as the change feed renders it, {type, id}) instead of
-- removing the row; a restore clears them, the trash's purge removes the row for good.
ALTER TABLE contacts
    ADD COLUMN deleted_at      timestamptz,
    ADD COLUMN deleted_by_type text CHECK (deleted_by_type IN ('user', 'api_key', 'system')),
    ADD COLUMN deleted_by_id   bigint,
    ADD CONSTRAINT contacts_deleted_by_check CHECK ((deleted_at IS NULL) = (deleted_by_type IS NULL));

-- A contact in the trash is gone from every read path at once: beside tenant_isolation,
-- this restrictive policy hides it from every statement of the service unless the
-- transaction announces that it works on the trash (app.include_trashed, set by
-- database.IncludeTrashed). UPDATE ... RETURNING checks the returned row against it too.
CREATE POLICY live_rows ON contacts AS RESTRICTIVE FOR SELECT
    USING (deleted_at IS NULL OR current_setting('app.include_trashed', true) = 'on');

-- migrate:down
DROP POLICY live_rows ON contacts;
ALTER TABLE contacts
    DROP CONSTRAINT contacts_deleted_by_check,
    DROP COLUMN deleted_by_id,
    DROP COLUMN deleted_by_type,
    DROP COLUMN deleted_at;
