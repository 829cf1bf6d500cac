-- migrate:up
-- Keyset pagination compares (due key, id) with the last row of the previous page. With
-- undated tasks last, the due key is coalesce(due_date, 'infinity'): a total order without
-- NULLs, which a row comparison needs. The list indexes follow that expression.
DROP INDEX tasks_due_idx;
DROP INDEX tasks_open_idx;
DROP INDEX tasks_deal_idx;
CREATE INDEX tasks_due_idx ON tasks (organization_id, (coalesce(due_date, 'infinity'::date)), id);
CREATE INDEX tasks_open_idx ON tasks (organization_id, (coalesce(due_date, 'infinity'::date)), id) WHERE NOT is_done;
-- Also serves the cascade from a deleted deal (it leads with organization_id, deal_id).
CREATE INDEX tasks_deal_idx ON tasks (organization_id, deal_id, (coalesce(due_date, 'infinity'::date)), id);

-- migrate:down
DROP INDEX tasks_due_idx;
DROP INDEX tasks_open_idx;
DROP INDEX tasks_deal_idx;
CREATE INDEX tasks_due_idx ON tasks (organization_id, due_date, id);
CREATE INDEX tasks_deal_idx ON tasks (organization_id, deal_id, due_date, id);
CREATE INDEX tasks_open_idx ON tasks (organization_id, due_date, id) WHERE NOT is_done;
