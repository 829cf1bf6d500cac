-- migrate:up
-- The organization's IANA time zone: "today" (the due-date rule, overdue tasks) and the
-- months of reports are taken in it. The service checks the name against the time zone
-- database built into the binary; the column only keeps it a plausible name.
ALTER TABLE organizations
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64);

-- migrate:down
ALTER TABLE organizations DROP COLUMN time_zone;
