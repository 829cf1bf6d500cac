-- migrate:up
-- Erasing a deleted organization removes every row carrying its id, idempotency records
-- included. The erasure runs in the organization's tenant scope, which shows a caller only its
-- own user's and key's records here; while it announces itself with the transaction-local
-- setting app.erase_organization, it sees and removes every record of that organization (and
-- still of no other). (A DELETE must also pass a SELECT policy for the rows its WHERE reads.)
CREATE POLICY organization_erasure_select ON idempotency_keys FOR SELECT
    USING (current_setting('app.erase_organization', true) = 'on' AND organization_id = current_organization_id());
CREATE POLICY organization_erasure_delete ON idempotency_keys FOR DELETE
    USING (current_setting('app.erase_organization', true) = 'on' AND organization_id = current_organization_id());

-- migrate:down
DROP POLICY organization_erasure_delete ON idempotency_keys;
DROP POLICY organization_erasure_select ON idempotency_keys;
