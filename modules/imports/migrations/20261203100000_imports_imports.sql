-- migrate:up
-- CSV imports of an organization, each a durable job. The file itself waits in
-- import_uploads until the job has finished with it, so an import survives a restart of the
-- service; its row goes with the import's outcome. created_by is the member who sent it
-- (api_key_id the key the request was made with, if any): the job acts as them, with their
-- role as it is when the job starts. errors holds the first 1,000 problems found, error_count
-- all of them.
CREATE TABLE imports (
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    type            text        NOT NULL CHECK (type IN ('contacts', 'deals')),
    dry_run         boolean     NOT NULL,
    status          text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    created_by      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_key_id      bigint,
    size_bytes      bigint      NOT NULL CHECK (size_bytes >= 0),
    total_rows      integer     CHECK (total_rows >= 0),
    processed_rows  integer     NOT NULL DEFAULT 0 CHECK (processed_rows >= 0),
    created         integer     NOT NULL DEFAULT 0 CHECK (created >= 0),
    error_count     integer     NOT NULL DEFAULT 0 CHECK (error_count >= 0),
    errors          json        NOT NULL DEFAULT '[]', -- json, not jsonb: kept as rendered
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    PRIMARY KEY (organization_id, id),
    CHECK ((finished_at IS NULL) = (status IN ('queued', 'running')))
);
-- The list, newest first, and the count of an organization's waiting imports.
CREATE INDEX imports_list_idx ON imports (organization_id, created_at, id);
CREATE INDEX imports_queued_idx ON imports (organization_id) WHERE status = 'queued';

CREATE TABLE import_uploads (
    organization_id bigint NOT NULL,
    import_id       bigint NOT NULL,
    body            bytea  NOT NULL,
    PRIMARY KEY (organization_id, import_id),
    FOREIGN KEY (organization_id, import_id) REFERENCES imports (organization_id, id) ON DELETE CASCADE
);
-- Files are stored as sent: compressing tens of MiB on every upload costs more than the
-- space it saves for the few minutes a file waits.
ALTER TABLE import_uploads ALTER COLUMN body SET STORAGE EXTERNAL;

-- migrate:down
DROP TABLE import_uploads;
DROP TABLE imports;
