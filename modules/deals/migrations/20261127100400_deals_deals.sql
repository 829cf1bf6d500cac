-- migrate:up
CREATE TABLE deals (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    contact_id      bigint        NOT NULL,
    owner_id        bigint        NOT NULL,
    title           text          NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    amount          numeric(14,2) NOT NULL CHECK (amount >= 0),
    currency        char(3)       NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status          text          NOT NULL DEFAULT 'new'
                                  CHECK (status IN ('new', 'in_progress', 'won', 'lost')),
    stage           text          NOT NULL DEFAULT 'qualification'
                                  CHECK (stage IN ('qualification', 'proposal', 'negotiation', 'closed')),
    -- The furthest stage ever reached, as its 1-based position in the pipeline
    -- (qualification 1 .. closed 4). Analytics counts a deal as having reached every stage
    -- up to it, even after a rollback.
    max_stage       smallint      NOT NULL DEFAULT 1 CHECK (max_stage BETWEEN 1 AND 4),
    lost_reason     text          CHECK (length(lost_reason) BETWEEN 1 AND 1000),
    created_at      timestamptz   NOT NULL DEFAULT now(),
    updated_at      timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    CONSTRAINT deals_max_stage_reached CHECK (max_stage >= CASE stage
        WHEN 'qualification' THEN 1 WHEN 'proposal' THEN 2 WHEN 'negotiation' THEN 3 ELSE 4 END),
    -- Composite keys make a reference to another organization's contact or to someone who
    -- is not a member of the deal's organization impossible to store. A contact with deals
    -- cannot be deleted; a member who owns deals cannot be removed.
    CONSTRAINT deals_contact_fkey FOREIGN KEY (organization_id, contact_id)
        REFERENCES contacts (organization_id, id),
    CONSTRAINT deals_owner_fkey FOREIGN KEY (organization_id, owner_id)
        REFERENCES organization_members (organization_id, user_id)
);
-- One index per offered order (with the id tie-break), plus the filters that narrow most.
CREATE INDEX deals_created_idx ON deals (organization_id, created_at DESC, id DESC);
CREATE INDEX deals_updated_idx ON deals (organization_id, updated_at DESC, id DESC);
CREATE INDEX deals_amount_idx ON deals (organization_id, amount, id);
CREATE INDEX deals_title_idx ON deals (organization_id, title, id);
CREATE INDEX deals_status_idx ON deals (organization_id, status, created_at DESC, id DESC);
CREATE INDEX deals_stage_idx ON deals (organization_id, stage, created_at DESC, id DESC);
CREATE INDEX deals_owner_idx ON deals (organization_id, owner_id, created_at DESC, id DESC);
CREATE INDEX deals_contact_idx ON deals (organization_id, contact_id, created_at DESC, id DESC);

-- The timeline depends on no module, so its table gets its tie to deals here: activities
-- belong to a deal of the same organization and go with it.
ALTER TABLE activities ADD CONSTRAINT activities_deal_fkey FOREIGN KEY (organization_id, deal_id)
    REFERENCES deals (organization_id, id) ON DELETE CASCADE;

-- migrate:down
ALTER TABLE activities DROP CONSTRAINT activities_deal_fkey;
DROP TABLE deals;
