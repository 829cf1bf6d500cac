-- migrate:up
-- When a comment's text was last changed by its author; NULL for an activity never edited.
-- Only comments are ever edited: the activities the service records stay as written.
ALTER TABLE activities ADD COLUMN edited_at timestamptz;
ALTER TABLE activities ADD CONSTRAINT activities_edited_comment_check CHECK (edited_at IS NULL OR type = 'comment');

-- migrate:down
ALTER TABLE activities DROP CONSTRAINT activities_edited_comment_check;
ALTER TABLE activities DROP COLUMN edited_at;
