-- migrate:up
-- Trigram indexes make the substring search of contacts fast on large organizations;
-- btree_gin lets those indexes lead with organization_id like every other index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE contacts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    owner_id        bigint      NOT NULL,
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email           text        CHECK (length(email) BETWEEN 3 AND 254),
    phone           text        CHECK (phone ~ '^[0-9 +()-]{1,32}$'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    -- An owner is a member of the contact's own organization; removing a member who still
    -- owns contacts fails here (orgs answers 409 member_owns_records).
    CONSTRAINT contacts_owner_fkey FOREIGN KEY (organization_id, owner_id)
        REFERENCES organization_members (organization_id, user_id)
);
CREATE INDEX contacts_list_idx ON contacts (organization_id, created_at DESC, id DESC);
CREATE INDEX contacts_owner_idx ON contacts (organization_id, owner_id, created_at DESC, id DESC);
CREATE INDEX contacts_name_trgm_idx ON contacts USING gin (organization_id, name gin_trgm_ops);
CREATE INDEX contacts_email_trgm_idx ON contacts USING gin (organization_id, email gin_trgm_ops);

-- migrate:down
DROP TABLE contacts;
