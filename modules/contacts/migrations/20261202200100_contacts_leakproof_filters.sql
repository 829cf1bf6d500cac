-- migrate:up
-- Row-level security evaluates its policy before any condition of the query whose function
-- is not LEAKPROOF, and such a condition can then never be an index condition: as crm_app,
-- `tags @> $1` and `name ILIKE $1` read every row of the organization, whatever GIN index
-- exists. Marking the functions behind these operators LEAKPROOF lets the planner use
-- contacts_tags_idx and the trigram indexes under the policy. It widens nothing the service
-- can see: leakproofness only concerns what a function's errors could reveal about its
-- arguments to someone who can write SQL, and crm_app runs only the service's statements;
-- arraycontains raises no error that depends on a value, and texticlike only on a malformed
-- pattern, which is always the service's own (escaped) text, never a row's value.
-- LEAKPROOF is for superusers; a migration run by another role leaves the functions as they
-- are (the filters stay correct and only read more).
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION pg_catalog.arraycontains(anyarray, anyarray) LEAKPROOF;
        ALTER FUNCTION pg_catalog.texticlike(text, text) LEAKPROOF;
    ELSE
        RAISE NOTICE 'not a superuser: the contact filters cannot use their indexes under row-level security';
    END IF;
END
$$;

-- migrate:down
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION pg_catalog.arraycontains(anyarray, anyarray) NOT LEAKPROOF;
        ALTER FUNCTION pg_catalog.texticlike(text, text) NOT LEAKPROOF;
    END IF;
END
$$;
