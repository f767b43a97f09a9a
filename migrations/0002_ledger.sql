-- Why: the ledger is the project's shared memory. Every tool appends to it in the same
-- transaction as its change, so it exists before any tool does.
--
-- seq must be dense (1, 2, 3 … with no holes) and commit-ordered (no reader ever sees N+1 before
-- N). A SEQUENCE gives neither: numbers are handed out before commit, so a rollback leaves a hole
-- and a slow transaction commits N after a fast one commits N+1. Instead each project has one
-- counter row in ledger_heads. Appending bumps it with UPDATE … RETURNING, which holds the row
-- lock until the transaction ends: the next writer of the same project waits for that commit (or
-- rollback, which returns the number), so numbers are allocated in commit order and never lost.
-- Writers append as their last statement, keeping the lock window to the final insert + commit;
-- different projects never contend.

CREATE TABLE ledger_heads (
  project_id bigint PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  last_seq bigint NOT NULL CHECK (last_seq >= 0)
);

CREATE TABLE events (
  project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  seq bigint NOT NULL CHECK (seq > 0),
  type text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]{0,63}$'),
  -- the actor's name at the time of the act; kept when the participant is deleted
  actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 100),
  -- no foreign key: history outlives the participation it names
  participation_id bigint,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  task_id bigint,
  post_id bigint,
  lease_id bigint,
  sequence text CHECK (length(sequence) <= 64),
  ref text CHECK (length(ref) <= 500),
  tag text CHECK (length(tag) <= 64),
  data jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(data) = 'object'),
  PRIMARY KEY (project_id, seq)
);
CREATE INDEX events_type_idx ON events (project_id, type, seq);
CREATE INDEX events_actor_idx ON events (project_id, actor, seq);
