-- migrate:up
-- Pipelines: the ordered stages deals move through, configured per organization. Each
-- organization has exactly one default pipeline (the partial unique index gives at most one;
-- the service never removes the flag without moving it, nor deletes the default pipeline).
-- Positions run 1..n. Their unique constraints are deferred to the end of the transaction, so
-- that a reorder may renumber rows one by one; the service locks the rows it renumbers, so
-- two reorders never interleave, and a commit that would leave two rows at one position fails.
CREATE TABLE pipelines (
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    position        integer     NOT NULL CHECK (position >= 1),
    is_default      boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    CONSTRAINT pipelines_name_key UNIQUE (organization_id, name),
    CONSTRAINT pipelines_position_key UNIQUE (organization_id, position) DEFERRABLE INITIALLY DEFERRED
);
CREATE UNIQUE INDEX pipelines_one_default_idx ON pipelines (organization_id) WHERE is_default;
CREATE INDEX pipelines_list_idx ON pipelines (organization_id, position, id);

-- A stage's key never changes; deals will refer to their stage by (pipeline_id, key).
CREATE TABLE pipeline_stages (
    organization_id bigint  NOT NULL,
    pipeline_id     bigint  NOT NULL,
    id              bigint  GENERATED ALWAYS AS IDENTITY,
    key             text    NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,49}$'),
    name            text    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    position        integer NOT NULL CHECK (position BETWEEN 1 AND 50),
    probability     integer NOT NULL DEFAULT 0 CHECK (probability BETWEEN 0 AND 100),
    rotten_days     integer CHECK (rotten_days BETWEEN 1 AND 3650),
    PRIMARY KEY (organization_id, id),
    CONSTRAINT pipeline_stages_key_key UNIQUE (organization_id, pipeline_id, key),
    CONSTRAINT pipeline_stages_position_key UNIQUE (organization_id, pipeline_id, position) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT pipeline_stages_pipeline_fkey FOREIGN KEY (organization_id, pipeline_id)
        REFERENCES pipelines (organization_id, id) ON DELETE CASCADE
);

-- Row-level security like every tenant table (see platform/database).
ALTER TABLE pipelines ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipelines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pipelines
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());
ALTER TABLE pipeline_stages ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipeline_stages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pipeline_stages
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- The default pipeline of an organization, the one definition of it: "Sales" with the stages
-- of part 1 of the API. The backfill below and the service (for every new organization, in
-- the transaction that creates it) both call it. It runs under the caller's tenant setting.
CREATE FUNCTION pipelines_create_default(org bigint) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    pid bigint;
BEGIN
    INSERT INTO pipelines (organization_id, name, position, is_default)
    VALUES (org, 'Sales', coalesce((SELECT max(p.position) FROM pipelines p WHERE p.organization_id = org), 0) + 1, true)
    RETURNING id INTO pid;
    INSERT INTO pipeline_stages (organization_id, pipeline_id, key, name, position, probability)
    VALUES (org, pid, 'qualification', 'Qualification', 1, 10),
           (org, pid, 'proposal', 'Proposal', 2, 30),
           (org, pid, 'negotiation', 'Negotiation', 3, 60),
           (org, pid, 'closed', 'Closed', 4, 100);
    RETURN pid;
END
$$;

-- migrate:down
DROP FUNCTION pipelines_create_default(bigint);
DROP TABLE pipeline_stages;
DROP TABLE pipelines;
