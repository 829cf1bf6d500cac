-- migrate:up
-- The deal list's new order and search: order_by=expected_close_date puts deals without a
-- date after every date, and search is a case-insensitive substring of the title, served by
-- a trigram index like the contacts' search (pg_trgm and btree_gin come with contacts).
CREATE INDEX deals_expected_close_order_idx ON deals (organization_id, (coalesce(expected_close_date, 'infinity'::date)), id);
CREATE INDEX deals_title_trgm_idx ON deals USING gin (organization_id, title gin_trgm_ops);

-- migrate:down
DROP INDEX deals_title_trgm_idx;
DROP INDEX deals_expected_close_order_idx;
