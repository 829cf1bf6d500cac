-- migrate:up
-- The timeline depends on no other module, so this table references none: the module that
-- owns the records an activity is about adds the foreign key (deals adds
-- (organization_id, deal_id) -> deals ON DELETE CASCADE). author_id has no foreign key on
-- purpose: a comment outlives its author's membership.
CREATE TABLE activities (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint      NOT NULL,
    deal_id         bigint      NOT NULL,
    author_id       bigint,
    type            text        NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]{0,49}$'),
    payload         jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    -- The time of the insert, not of the transaction start: writers of one deal queue on its
    -- row lock, and the timeline must list their changes in the order they were made.
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (organization_id, id)
);
-- Serves the timeline of a deal, newest first, and the cascade from a deleted deal.
CREATE INDEX activities_deal_idx ON activities (organization_id, deal_id, created_at DESC, id DESC);

-- migrate:down
DROP TABLE activities;
