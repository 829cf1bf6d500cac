-- migrate:up
-- Tasks gain an assignee, a member of the task's organization (by default the owner of its
-- deal), and completed_at, the time the task was last marked done (NULL while it is open).
ALTER TABLE tasks
    ADD COLUMN assignee_id  bigint,
    ADD COLUMN completed_at timestamptz;

-- Backfill, one organization at a time under its own tenant setting (row-level security):
-- every existing task is assigned to its deal's owner (read through the deals module's
-- function), and a done task was completed when it was last written.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        UPDATE tasks
        SET assignee_id = deals_owner_id(org, deal_id),
            completed_at = CASE WHEN is_done THEN updated_at END
        WHERE organization_id = org;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

-- The assignee is a member of the task's own organization: an id of another organization's
-- member cannot be stored. The check is deferred to commit so that removing a member can
-- hand their tasks on inside the removal's transaction (the tasks module reassigns them, on
-- orgsapi.MemberRemoved, to the owner of each task's deal); the service's own writes set it
-- IMMEDIATE, so a non-member assignee fails the statement that names it.
ALTER TABLE tasks
    ALTER COLUMN assignee_id SET NOT NULL,
    ADD CONSTRAINT tasks_assignee_fkey FOREIGN KEY (organization_id, assignee_id)
        REFERENCES organization_members (organization_id, user_id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT tasks_completed_check CHECK ((completed_at IS NOT NULL) = is_done);

-- completed_at follows is_done: a write that marks a task done sets it to that write's
-- updated_at, one that reopens it clears it, any other write keeps it. An insert that names
-- no assignee (the service always names one; seeds and direct SQL may not) gets the deal's
-- owner.
CREATE FUNCTION tasks_fill_defaults() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.assignee_id IS NULL THEN
        NEW.assignee_id := deals_owner_id(NEW.organization_id, NEW.deal_id);
    END IF;
    IF NOT NEW.is_done THEN
        NEW.completed_at := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        NEW.completed_at := coalesce(NEW.completed_at, NEW.updated_at);
    ELSIF NOT OLD.is_done THEN
        NEW.completed_at := NEW.updated_at;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tasks_fill_defaults BEFORE INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_fill_defaults();

-- The list's filters and orders in a large organization:
-- assignee_id ("my tasks") in the due-date order, open ones on their own as well;
CREATE INDEX tasks_assignee_idx ON tasks (organization_id, assignee_id, (coalesce(due_date, 'infinity'::date)), id);
CREATE INDEX tasks_assignee_open_idx ON tasks (organization_id, assignee_id, (coalesce(due_date, 'infinity'::date)), id)
    WHERE NOT is_done;
-- order_by=created_at and updated_at, either direction (overdue=true is a range of
-- tasks_open_idx, is_done=false that index itself).
CREATE INDEX tasks_created_idx ON tasks (organization_id, created_at, id);
CREATE INDEX tasks_updated_idx ON tasks (organization_id, updated_at, id);

-- migrate:down
DROP INDEX tasks_updated_idx;
DROP INDEX tasks_created_idx;
DROP INDEX tasks_assignee_open_idx;
DROP INDEX tasks_assignee_idx;
DROP TRIGGER tasks_fill_defaults ON tasks;
DROP FUNCTION tasks_fill_defaults();
ALTER TABLE tasks
    DROP CONSTRAINT tasks_completed_check,
    DROP CONSTRAINT tasks_assignee_fkey,
    DROP COLUMN completed_at,
    DROP COLUMN assignee_id;
