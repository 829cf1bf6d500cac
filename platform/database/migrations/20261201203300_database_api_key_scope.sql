-- migrate:up
-- The API key of the current transaction (app.api_key_id, set with database.WithAPIKey), for
-- rows that belong to a key and not to the user it acts for; unset for people.
CREATE FUNCTION current_api_key_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.api_key_id', true), '')::bigint $$;

-- migrate:down
DROP FUNCTION current_api_key_id();
