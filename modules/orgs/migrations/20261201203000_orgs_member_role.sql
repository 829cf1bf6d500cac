-- migrate:up
-- The role of a user in an organization, or NULL when they are not a member of it, for the SQL
-- of other modules: the API keys' lookup asks it for the role of a key's creator. It runs with
-- the caller's rights, so row-level security applies: the caller's scope (the organization or
-- the user) must show the membership.
CREATE FUNCTION organization_member_role(org bigint, member bigint) RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT role FROM organization_members WHERE organization_id = org AND user_id = member $$;

-- migrate:down
DROP FUNCTION organization_member_role(bigint, bigint);
