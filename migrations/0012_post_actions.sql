-- Why: posts that ask for something, and posts that carry structured data.
--
-- * action: a short flag on a post (`review`, `decide`) saying the recipients are expected to do
--   something. `status` lists the flagged posts that still wait on a recipient's ack, project-wide,
--   newest first: the partial index keeps that walk to flagged posts only, so the many unflagged
--   posts cost nothing, and each candidate is checked against post_recipients_unacked_idx.
-- * data: a JSON object beside the text body, for agents that exchange structured messages. It is
--   bounded (the tool allows 8 KB of compact JSON; the check leaves room for jsonb's spacing) and
--   covered by the post's signature like every other content field.

ALTER TABLE posts
  ADD COLUMN action text CHECK (length(action) BETWEEN 1 AND 32),
  ADD COLUMN data jsonb CHECK (jsonb_typeof(data) = 'object' AND octet_length(data::text) <= 16384);

CREATE INDEX posts_action_idx ON posts (project_id, id) WHERE action IS NOT NULL;
