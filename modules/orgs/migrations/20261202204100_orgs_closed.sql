-- migrate:up
-- An organization its owner deleted is closed at once (closed_at) and erased afterwards by a
-- job; until the job removes the row, it is refused to everyone like an organization that
-- does not exist.
ALTER TABLE organizations ADD COLUMN closed_at timestamptz;

-- A closed organization has no members for the SQL of other modules either: the API keys'
-- lookup asks this function, so a key of a closed organization stops in the same statement
-- that finds it.
CREATE OR REPLACE FUNCTION organization_member_role(org bigint, member bigint) RETURNS text
    LANGUAGE sql STABLE
    AS $$
        SELECT m.role FROM organization_members m JOIN organizations o ON o.id = m.organization_id
        WHERE m.organization_id = org AND m.user_id = member AND o.closed_at IS NULL
    $$;

-- Work that runs organization by organization (the analytics backfill and rebuild) leaves
-- closed organizations alone: their rows are being erased.
CREATE OR REPLACE FUNCTION organization_ids() RETURNS SETOF bigint
    LANGUAGE sql STABLE
    AS $$ SELECT id FROM organizations WHERE closed_at IS NULL ORDER BY id $$;

-- migrate:down
CREATE OR REPLACE FUNCTION organization_ids() RETURNS SETOF bigint
    LANGUAGE sql STABLE
    AS $$ SELECT id FROM organizations ORDER BY id $$;
CREATE OR REPLACE FUNCTION organization_member_role(org bigint, member bigint) RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT role FROM organization_members WHERE organization_id = org AND user_id = member $$;
ALTER TABLE organizations DROP COLUMN closed_at;
