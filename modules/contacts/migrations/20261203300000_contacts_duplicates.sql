-- migrate:up
-- Duplicates are contacts of one organization sharing an email (trimmed, without regard to
-- case) or a phone number (its digits, when there are at least seven). The list groups them
-- by walking two expression indexes in key order (GROUP BY ... HAVING count(*) > 1), never by
-- comparing contacts pairwise, and a page stops after the groups it shows. id closes each
-- index so that the groups' members are read from the index too.
CREATE FUNCTION contacts_email_key(email text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(btrim(email));

-- The digits of a phone number, the key by which phones compare ("+1 (555) 010-0000" and
-- "15550100000" are one number).
CREATE FUNCTION contacts_phone_digits(phone text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN regexp_replace(phone, '[^0-9]', '', 'g');

CREATE INDEX contacts_email_key_idx ON contacts (organization_id, contacts_email_key(email), id)
    WHERE email IS NOT NULL;
CREATE INDEX contacts_phone_digits_idx ON contacts (organization_id, contacts_phone_digits(phone), id)
    WHERE length(contacts_phone_digits(phone)) >= 7;

-- migrate:down
DROP INDEX contacts_phone_digits_idx;
DROP INDEX contacts_email_key_idx;
DROP FUNCTION contacts_phone_digits(text);
DROP FUNCTION contacts_email_key(text);
