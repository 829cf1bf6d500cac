-- migrate:up
-- Counts the deals of one pipeline created within a window (the analytics summary of a
-- pipeline), however many deals the organization has.
CREATE INDEX deals_pipeline_created_idx ON deals (organization_id, pipeline_id, created_at);

-- migrate:down
DROP INDEX deals_pipeline_created_idx;
