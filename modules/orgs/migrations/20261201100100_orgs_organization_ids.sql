-- migrate:up
-- The ids of every organization, in order, for work that runs organization by organization
-- outside any request (the analytics read model's backfill and rebuild). Only this module
-- reads and writes the organizations table; other modules call this function instead.
CREATE FUNCTION organization_ids() RETURNS SETOF bigint
    LANGUAGE sql STABLE
    AS $$ SELECT id FROM organizations ORDER BY id $$;

-- migrate:down
DROP FUNCTION organization_ids();
