-- migrate:up
-- Velocity counts the won deals of the part of its window's first day from the deals
-- (store.wonBetween: pipeline, status won, closed_at in a range). Through
-- deals_won_closed_idx each of them was a heap visit for its pipeline and created_at, a
-- second and more when other work had pushed those pages out of memory (about 400 deals a day
-- in the benchmark's default pipeline). This index answers it alone: the deal's pipeline
-- leads, and created_at and deleted_at (which the trash policy reads) are included.
CREATE INDEX deals_won_pipeline_closed_idx ON deals (organization_id, pipeline_id, closed_at)
    INCLUDE (created_at, deleted_at) WHERE status = 'won';

-- migrate:down
DROP INDEX deals_won_pipeline_closed_idx;
