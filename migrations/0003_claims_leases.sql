-- Why: claims and leases, the two ways Baton keeps agents from taking the same thing twice.
--
-- Claims hand out numbers from named sequences (ADR numbers, migration numbers, release ids) with
-- no duplicates and no gaps. Each sequence is one row; a claim bumps last_number under that row's
-- lock and inserts the claim in the same transaction, so concurrent claims queue on the row and a
-- transaction that fails returns its number with its rollback. (A SEQUENCE would leave holes.)
--
-- Leases are advisory holds on paths, globs and lanes. Whether two globs overlap cannot be an
-- index constraint, so grants in a project are serialised by a transaction-scoped advisory lock
-- and decided in code (src/leases/overlap.ts). Fencing tokens come from a per-project counter row
-- bumped under its lock, so every grant gets a larger token than any grant committed before it.
-- Lease rows are live state only: a release or a take-over deletes the row, and the ledger keeps
-- the history.

CREATE TABLE sequences (
  project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (name ~ '^[a-z0-9._-]{1,64}$'),
  prefix text NOT NULL DEFAULT '' CHECK (prefix ~ '^[!-~]{0,32}$'),
  pad integer NOT NULL DEFAULT 0 CHECK (pad BETWEEN 0 AND 12),
  -- the last number treated as used: the next claim takes last_number + 1
  last_number bigint NOT NULL CHECK (last_number >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, name)
);

CREATE TABLE claims (
  project_id bigint NOT NULL,
  sequence text NOT NULL,
  number bigint NOT NULL CHECK (number > 0),
  -- as handed out; a later change of prefix or pad does not rewrite history
  formatted text NOT NULL CHECK (length(formatted) <= 64),
  -- no foreign key: a number stays claimed after its claimant is deleted
  participation_id bigint NOT NULL,
  actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 100),
  note text CHECK (length(note) <= 500),
  ref text CHECK (length(ref) <= 500),
  idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128),
  at timestamptz NOT NULL DEFAULT now(),
  -- who_claimed answers from this key; it also refuses a duplicate number outright
  PRIMARY KEY (project_id, sequence, number),
  FOREIGN KEY (project_id, sequence) REFERENCES sequences (project_id, name) ON DELETE CASCADE
);
CREATE INDEX claims_at_idx ON claims (project_id, at);
CREATE UNIQUE INDEX claims_idempotency_key ON claims (project_id, participation_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE TABLE lease_fencing (
  project_id bigint PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  last_token bigint NOT NULL CHECK (last_token > 0)
);

CREATE TABLE leases (
  project_id bigint NOT NULL,
  id bigint GENERATED ALWAYS AS IDENTITY,
  participation_id bigint NOT NULL,
  actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 100),
  surface text NOT NULL CHECK (length(surface) BETWEEN 1 AND 512),
  mode text NOT NULL CHECK (mode IN ('exclusive', 'shared')),
  fencing_token bigint NOT NULL CHECK (fencing_token > 0),
  note text CHECK (length(note) <= 500),
  granted_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (project_id, id),
  -- one lease per holder and surface: leasing it again renews that row
  UNIQUE (project_id, participation_id, surface),
  UNIQUE (project_id, fencing_token),
  FOREIGN KEY (project_id, participation_id)
    REFERENCES participations (project_id, id) ON DELETE CASCADE
);
CREATE INDEX leases_expiry_idx ON leases (project_id, expires_at);
