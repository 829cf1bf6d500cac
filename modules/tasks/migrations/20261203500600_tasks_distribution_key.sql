-- migrate:up
-- The primary key leads with the organization, as every key of a tenant table does, so that
-- the table can be distributed by organization_id (see the README's scaling section). The
-- unique (organization_id, id) constraint stays: the foreign keys of other tables reference it.
ALTER TABLE tasks DROP CONSTRAINT tasks_pkey;
ALTER TABLE tasks ADD CONSTRAINT tasks_pkey PRIMARY KEY (organization_id, id);

-- migrate:down
ALTER TABLE tasks DROP CONSTRAINT tasks_pkey;
ALTER TABLE tasks ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);
