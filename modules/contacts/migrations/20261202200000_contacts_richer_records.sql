-- migrate:up
-- Contacts carry where the person works, free notes and tags. The service trims tags, turns
-- them to lower case and drops repeats before it writes them; the checks below keep the
-- bounds even for writes that bypass it (a seed, an import in SQL).
CREATE FUNCTION contacts_tags_valid(tags text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN cardinality(tags) <= 20
        AND array_position(tags, NULL) IS NULL
        AND coalesce((SELECT min(length(t)) >= 1 AND max(length(t)) <= 50 FROM unnest(tags) AS t), true);

ALTER TABLE contacts
    ADD COLUMN company   text CHECK (length(company) BETWEEN 1 AND 200),
    ADD COLUMN job_title text CHECK (length(job_title) BETWEEN 1 AND 200),
    ADD COLUMN notes     text CHECK (length(notes) BETWEEN 1 AND 10000),
    ADD COLUMN tags      text[] NOT NULL DEFAULT '{}' CONSTRAINT contacts_tags_check CHECK (contacts_tags_valid(tags));

-- The tag filter is tags @> '{a,b}': a GIN index answers it (btree_gin lets it lead with
-- organization_id like every other index), so filtering never reads the whole organization.
CREATE INDEX contacts_tags_idx ON contacts USING gin (organization_id, tags);
-- The search matches name, email, phone and company; each has its trigram index, and the
-- planner ORs them (terms of three characters or more; shorter ones have no trigram).
CREATE INDEX contacts_phone_trgm_idx ON contacts USING gin (organization_id, phone gin_trgm_ops);
CREATE INDEX contacts_company_trgm_idx ON contacts USING gin (organization_id, company gin_trgm_ops);
-- The list orders besides newest first (contacts_list_idx); a btree is read in either
-- direction, so one index serves asc and desc. Names sort without regard to case.
CREATE INDEX contacts_updated_idx ON contacts (organization_id, updated_at, id);
CREATE INDEX contacts_name_idx ON contacts (organization_id, lower(name), id);

-- migrate:down
DROP INDEX contacts_name_idx;
DROP INDEX contacts_updated_idx;
DROP INDEX contacts_company_trgm_idx;
DROP INDEX contacts_phone_trgm_idx;
DROP INDEX contacts_tags_idx;
ALTER TABLE contacts DROP COLUMN tags, DROP COLUMN notes, DROP COLUMN job_title, DROP COLUMN company;
DROP FUNCTION contacts_tags_valid(text[]);
