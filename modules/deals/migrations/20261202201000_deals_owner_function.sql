-- migrate:up
-- The owner of a deal, or NULL when the organization has no such deal, for the SQL of other
-- modules (the tasks module gives a task without an assignee its deal's owner). It runs with
-- the caller's rights, so row-level security applies: the caller's tenant setting must show
-- the deal.
CREATE FUNCTION deals_owner_id(org bigint, deal bigint) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT owner_id FROM deals WHERE organization_id = org AND id = deal $$;

-- migrate:down
DROP FUNCTION deals_owner_id(bigint, bigint);
