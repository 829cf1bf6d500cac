-- migrate:up
-- The primary key leads with the organization, as every key of a tenant table does, so that
-- the table can be distributed by organization_id (see the README's scaling section). The
-- unique (organization_id, id) constraint stays: the foreign keys of other tables reference it.
ALTER TABLE deals DROP CONSTRAINT deals_pkey;
ALTER TABLE deals ADD CONSTRAINT deals_pkey PRIMARY KEY (organization_id, id);

-- migrate:down
ALTER TABLE deals DROP CONSTRAINT deals_pkey;
ALTER TABLE deals ADD CONSTRAINT deals_pkey PRIMARY KEY (id);
