-- migrate:up
-- Invitations to join an organization, addressed to an email. Only the SHA-256 of a token is
-- stored. An invitation is pending until it is accepted (accepted_at, accepted_by), revoked
-- (revoked_at: by a manager, by a newer invitation for the same email, or because its inviter
-- may no longer invite) or past expires_at; rows are kept and listed with their status.
CREATE TABLE invitations (
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    email           text        NOT NULL CHECK (email <> '' AND length(email) <= 254),
    role            text        NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member')),
    token_hash      bytea       NOT NULL CHECK (length(token_hash) = 32),
    invited_by      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    accepted_by     bigint      REFERENCES users (id) ON DELETE SET NULL,
    revoked_at      timestamptz,
    PRIMARY KEY (organization_id, id),
    CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX invitations_token_hash_idx ON invitations (token_hash);
CREATE INDEX invitations_list_idx ON invitations (organization_id, created_at, id);
-- The open invitations of an email: in an organization (a new one replaces it) and across
-- organizations (the invitee's own list).
CREATE INDEX invitations_open_email_idx ON invitations (lower(email), organization_id)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_open_inviter_idx ON invitations (organization_id, invited_by)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Row-level security like every tenant table. Two more policies let a signed-in person reach
-- an invitation before any organization is known, for reading only: the invitee's list
-- announces the caller's own email, in lower case (the transaction-local setting
-- app.invitee_email), and accepting announces the hash of the token it was given
-- (app.invitation_token_hash). Seeing an invitation takes being its addressee or knowing its token.
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());
CREATE POLICY invitee_lookup ON invitations FOR SELECT
    USING (lower(email) = nullif(current_setting('app.invitee_email', true), ''));
CREATE POLICY token_lookup ON invitations FOR SELECT
    USING (token_hash = decode(nullif(current_setting('app.invitation_token_hash', true), ''), 'hex'));

-- migrate:down
DROP TABLE invitations;
