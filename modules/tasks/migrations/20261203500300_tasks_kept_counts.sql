-- migrate:up
-- Kept counts of the task list: how many live tasks (not in the trash) each assignee has open
-- and done. Statement triggers keep them in the transaction of every write, so that the list
-- unfiltered or filtered only by assignee and done-ness reports an exact total without
-- counting rows. Each combination is spread over eight slots, picked by the writing
-- connection, so that concurrent writers of one organization seldom wait on the same row; a
-- total is the sum over the slots.
CREATE TABLE task_counts (
    organization_id bigint   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    assignee_id     bigint   NOT NULL, -- 0 for a task without one
    is_done         boolean  NOT NULL,
    slot            smallint NOT NULL,
    n               bigint   NOT NULL,
    PRIMARY KEY (organization_id, assignee_id, is_done, slot)
);
ALTER TABLE task_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON task_counts
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

CREATE FUNCTION task_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_counts AS c (organization_id, assignee_id, is_done, slot, n)
    SELECT organization_id, coalesce(assignee_id, 0), is_done, pg_backend_pid() % 8, count(*)
    FROM new_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3
    ON CONFLICT (organization_id, assignee_id, is_done, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION task_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_counts AS c (organization_id, assignee_id, is_done, slot, n)
    SELECT organization_id, coalesce(assignee_id, 0), is_done, pg_backend_pid() % 8, -count(*)
    FROM old_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3
    ON CONFLICT (organization_id, assignee_id, is_done, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

-- An update moves a task only when its assignee or done-ness changes or it goes into or out
-- of the trash; most updates do neither and write nothing here.
CREATE FUNCTION task_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_counts AS c (organization_id, assignee_id, is_done, slot, n)
    SELECT organization_id, assignee_id, is_done, pg_backend_pid() % 8, sum(d)
    FROM (
        SELECT organization_id, coalesce(assignee_id, 0) AS assignee_id, is_done, 1 AS d FROM new_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT organization_id, coalesce(assignee_id, 0), is_done, -1 FROM old_rows WHERE deleted_at IS NULL
    ) moved
    GROUP BY 1, 2, 3
    HAVING sum(d) <> 0
    ON CONFLICT (organization_id, assignee_id, is_done, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER task_counts_insert AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_add();
CREATE TRIGGER task_counts_delete AFTER DELETE ON tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_remove();
CREATE TRIGGER task_counts_update AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_move();

-- The counts of the tasks there are, one organization at a time under its tenant setting.
DO $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organization_ids() AS id LOOP
        PERFORM set_config('app.organization_id', org::text, true);
        INSERT INTO task_counts (organization_id, assignee_id, is_done, slot, n)
        SELECT organization_id, coalesce(assignee_id, 0), is_done, 0, count(*)
        FROM tasks WHERE organization_id = org AND deleted_at IS NULL
        GROUP BY 1, 2, 3;
    END LOOP;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

-- migrate:down
DROP TRIGGER task_counts_update ON tasks;
DROP TRIGGER task_counts_delete ON tasks;
DROP TRIGGER task_counts_insert ON tasks;
DROP FUNCTION task_counts_move();
DROP FUNCTION task_counts_remove();
DROP FUNCTION task_counts_add();
DROP TABLE task_counts;
