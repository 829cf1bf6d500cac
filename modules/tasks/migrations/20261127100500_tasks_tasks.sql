-- migrate:up
CREATE TABLE tasks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    deal_id         bigint      NOT NULL,
    title           text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200 AND btrim(title) <> ''),
    description     text        CHECK (length(description) <= 5000),
    -- A calendar date without a time: "due on" a day, the same for everyone.
    due_date        date,
    is_done         boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    -- A task belongs to a deal of its own organization (a cross-organization reference
    -- cannot be stored) and goes with it.
    CONSTRAINT tasks_deal_fkey FOREIGN KEY (organization_id, deal_id)
        REFERENCES deals (organization_id, id) ON DELETE CASCADE
);
-- The list order is due_date ASC NULLS LAST (the default of ASC), id ASC. This index serves
-- it unfiltered and with due_before / due_after ranges.
CREATE INDEX tasks_due_idx ON tasks (organization_id, due_date, id);
-- The deal_id filter in list order, and the cascade from a deleted deal.
CREATE INDEX tasks_deal_idx ON tasks (organization_id, deal_id, due_date, id);
-- only_open=true: open tasks are the few a list usually wants.
CREATE INDEX tasks_open_idx ON tasks (organization_id, due_date, id) WHERE NOT is_done;

-- migrate:down
DROP TABLE tasks;
