-- migrate:up
-- A search page walks the list in its order and keeps the contacts that match, about 2,800
-- rows read for a page of 50 when one contact in sixty matches. Each row cost four ILIKEs,
-- and each ILIKE lower-cases both its text and its pattern (about 2 µs a row, 6 ms a page).
-- The contact now carries its searched text, lower-cased once when it is written, the very
-- text contact_search counts from: the page's filter becomes one LIKE of a stored value
-- (about 0.2 µs a row).
ALTER TABLE contacts
    ADD COLUMN search_doc text NOT NULL GENERATED ALWAYS AS (contacts_search_doc(name, email, phone, company)) STORED;

-- One trigram index of that text replaces the four of the fields: it finds the few contacts
-- of a rare term without walking the organization, and a write updates one index, not four.
CREATE INDEX contacts_search_doc_idx ON contacts USING gin (organization_id, search_doc gin_trgm_ops);
DROP INDEX contacts_name_trgm_idx;
DROP INDEX contacts_email_trgm_idx;
DROP INDEX contacts_phone_trgm_idx;
DROP INDEX contacts_company_trgm_idx;

-- contact_search copies the stored text rather than computing it again.
CREATE OR REPLACE FUNCTION contact_search_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_search (organization_id, contact_id, doc)
    SELECT organization_id, id, search_doc
    FROM new_rows WHERE deleted_at IS NULL
    ORDER BY 1, 2;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION contact_search_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contact_search s
    USING old_rows o JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
    WHERE o.deleted_at IS NULL AND n.deleted_at IS NOT NULL
      AND s.organization_id = o.organization_id AND s.contact_id = o.id;
    INSERT INTO contact_search AS s (organization_id, contact_id, doc)
    SELECT n.organization_id, n.id, n.search_doc
    FROM new_rows n JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
    WHERE n.deleted_at IS NULL AND (o.deleted_at IS NOT NULL OR n.search_doc <> o.search_doc)
    ORDER BY 1, 2
    ON CONFLICT (organization_id, contact_id) DO UPDATE SET doc = excluded.doc;
    RETURN NULL;
END
$$;

ANALYZE contacts;

-- migrate:down
CREATE OR REPLACE FUNCTION contact_search_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contact_search s
    USING old_rows o JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
    WHERE o.deleted_at IS NULL AND n.deleted_at IS NOT NULL
      AND s.organization_id = o.organization_id AND s.contact_id = o.id;
    INSERT INTO contact_search AS s (organization_id, contact_id, doc)
    SELECT n.organization_id, n.id, contacts_search_doc(n.name, n.email, n.phone, n.company)
    FROM new_rows n JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
    WHERE n.deleted_at IS NULL
      AND (o.deleted_at IS NOT NULL
           OR contacts_search_doc(n.name, n.email, n.phone, n.company) <> contacts_search_doc(o.name, o.email, o.phone, o.company))
    ORDER BY 1, 2
    ON CONFLICT (organization_id, contact_id) DO UPDATE SET doc = excluded.doc;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION contact_search_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_search (organization_id, contact_id, doc)
    SELECT organization_id, id, contacts_search_doc(name, email, phone, company)
    FROM new_rows WHERE deleted_at IS NULL
    ORDER BY 1, 2;
    RETURN NULL;
END
$$;
CREATE INDEX contacts_company_trgm_idx ON contacts USING gin (organization_id, company gin_trgm_ops);
CREATE INDEX contacts_phone_trgm_idx ON contacts USING gin (organization_id, phone gin_trgm_ops);
CREATE INDEX contacts_email_trgm_idx ON contacts USING gin (organization_id, email gin_trgm_ops);
CREATE INDEX contacts_name_trgm_idx ON contacts USING gin (organization_id, name gin_trgm_ops);
DROP INDEX contacts_search_doc_idx;
ALTER TABLE contacts DROP COLUMN search_doc;
