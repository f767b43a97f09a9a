-- Why: handoffs that verifiably land, resumable ledger cursors, and presence by lane.
--
-- * posts + post_recipients. Recipients are decided once, at post time, and stored one row each:
--   a lane or a broadcast is a set of people at the moment it is sent, and each of them has a
--   receipt of their own (delivered_at, acked_at). That is what lets the sender ask "who has not
--   read this yet", lets only a recipient ack, and keeps the unread count of every write result
--   one index lookup, however the roster changes afterwards.
-- * lanes: every lane a project has ever used, registered or given. A post to a lane nobody has
--   ever been in is refused as a typo; moving everyone out of a lane must not make it one.
-- * cursors: named positions in the ledger per participation, so sub-agents sharing a token can
--   each read every event exactly once with whats_new.
-- * Indexes for the exact-match filters of query_events.

CREATE TABLE lanes (
  project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (name ~ '^[a-z0-9._-]{1,64}$'),
  first_used_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, name)
);

-- A trigger rather than a call in each tool: a lane can be set by register, by provisioning, by
-- an invite or by the web admin, and "ever used" must hold whichever path set it.
CREATE FUNCTION remember_lane() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO lanes (project_id, name) VALUES (NEW.project_id, NEW.lane)
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

CREATE TRIGGER participations_remember_lane
  AFTER INSERT OR UPDATE OF lane ON participations
  FOR EACH ROW WHEN (NEW.lane IS NOT NULL)
  EXECUTE FUNCTION remember_lane();

INSERT INTO lanes (project_id, name)
SELECT DISTINCT project_id, lane FROM participations WHERE lane IS NOT NULL;

CREATE TABLE posts (
  project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  -- Sender and direct addressee as they were named at the time. No foreign keys to
  -- participations: a post outlives the participation that sent or received it.
  sender_participation_id bigint NOT NULL,
  sender_actor text NOT NULL CHECK (length(sender_actor) BETWEEN 1 AND 100),
  to_participation_id bigint,
  to_actor text CHECK (length(to_actor) <= 100),
  to_lane text CHECK (to_lane ~ '^[a-z0-9._-]{1,64}$'),
  broadcast boolean NOT NULL DEFAULT false,
  subject text CHECK (length(subject) <= 200),
  body text NOT NULL CHECK (length(body) BETWEEN 1 AND 16000),
  ref text CHECK (length(ref) <= 500),
  tag text CHECK (length(tag) <= 64),
  reply_to bigint,
  -- The root post of the thread this one replies into; null on a root.
  thread_id bigint,
  idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, id),
  FOREIGN KEY (project_id, reply_to) REFERENCES posts (project_id, id),
  -- exactly one way of addressing
  CHECK (num_nonnulls(to_participation_id, to_lane) + broadcast::int = 1),
  CHECK ((to_participation_id IS NULL) = (to_actor IS NULL)),
  CHECK ((reply_to IS NULL) = (thread_id IS NULL))
);
-- A repeated idempotency key from the same sender finds the first post.
CREATE UNIQUE INDEX posts_idempotency_key ON posts (project_id, sender_participation_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- read_posts filters, each walking newest first.
CREATE INDEX posts_sender_idx ON posts (project_id, sender_participation_id, id);
CREATE INDEX posts_sender_actor_idx ON posts (project_id, sender_actor, id);
CREATE INDEX posts_lane_idx ON posts (project_id, to_lane, id) WHERE to_lane IS NOT NULL;
CREATE INDEX posts_ref_idx ON posts (project_id, ref, id) WHERE ref IS NOT NULL;
CREATE INDEX posts_tag_idx ON posts (project_id, tag, id) WHERE tag IS NOT NULL;
CREATE INDEX posts_thread_idx ON posts (project_id, thread_id, id) WHERE thread_id IS NOT NULL;

CREATE TABLE post_recipients (
  project_id bigint NOT NULL,
  post_id bigint NOT NULL,
  participation_id bigint NOT NULL,
  -- first time the post was returned (read_posts) or pushed to this recipient
  delivered_at timestamptz,
  -- only ever set by the recipient's own ack
  acked_at timestamptz,
  PRIMARY KEY (project_id, post_id, participation_id),
  FOREIGN KEY (project_id, post_id) REFERENCES posts (project_id, id) ON DELETE CASCADE,
  FOREIGN KEY (project_id, participation_id)
    REFERENCES participations (project_id, id) ON DELETE CASCADE,
  CHECK (acked_at IS NULL OR delivered_at IS NOT NULL)
);
-- A recipient's inbox, newest first.
CREATE INDEX post_recipients_inbox_idx ON post_recipients (project_id, participation_id, post_id);
-- The unread count on every write result, and unacked_only: only unacked rows are indexed, so
-- the count stays small and index-only however long the history grows.
CREATE INDEX post_recipients_unacked_idx ON post_recipients (project_id, participation_id, post_id)
  WHERE acked_at IS NULL;

CREATE TABLE cursors (
  project_id bigint NOT NULL,
  participation_id bigint NOT NULL,
  name text NOT NULL CHECK (name ~ '^[A-Za-z0-9._:-]{1,64}$'),
  -- the last seq handed out through this cursor; 0 before the first event
  last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, participation_id, name),
  FOREIGN KEY (project_id, participation_id)
    REFERENCES participations (project_id, id) ON DELETE CASCADE
);

-- query_events: each exact-match filter walks its own index newest first. Partial where the
-- column is often null, so events without it cost nothing extra to append.
CREATE INDEX events_ref_seq_idx ON events (project_id, ref, seq) WHERE ref IS NOT NULL;
CREATE INDEX events_tag_seq_idx ON events (project_id, tag, seq) WHERE tag IS NOT NULL;
CREATE INDEX events_task_seq_idx ON events (project_id, task_id, seq) WHERE task_id IS NOT NULL;
CREATE INDEX events_sequence_seq_idx ON events (project_id, sequence, seq)
  WHERE sequence IS NOT NULL;
CREATE INDEX events_post_seq_idx ON events (project_id, post_id, seq) WHERE post_id IS NOT NULL;
CREATE INDEX events_at_idx ON events (project_id, at);
