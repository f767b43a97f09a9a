-- Why: the identity spine. A bearer token resolves to exactly one participation (one participant
-- granted into one project); everything else in Baton hangs off that pair. Every project-scoped
-- table carries project_id and its keys lead with it, so the schema can later be distributed by
-- project.

CREATE TABLE owners (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  handle text NOT NULL UNIQUE CHECK (handle ~ '^[a-z0-9-]{2,32}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Emails are compared case-insensitively and stay private to their owner.
CREATE UNIQUE INDEX owners_email_key ON owners (lower(email));

CREATE TABLE projects (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id bigint NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9-]{1,64}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  liveness_window_seconds integer NOT NULL DEFAULT 900
    CHECK (liveness_window_seconds BETWEEN 10 AND 604800),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_id, slug)
);

CREATE TABLE participants (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id bigint NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
  label text NOT NULL CHECK (length(label) BETWEEN 1 AND 64 AND strpos(label, '/') = 0),
  kind text NOT NULL DEFAULT 'agent' CHECK (kind IN ('agent', 'human')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_id, label)
);

CREATE TABLE participations (
  project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  participant_id bigint NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
  lane text CHECK (lane ~ '^[a-z0-9._-]{1,64}$'),
  status text CHECK (length(status) <= 200),
  is_admin boolean NOT NULL DEFAULT false,
  last_seen_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, id),
  UNIQUE (project_id, participant_id)
);

-- Only the sha-256 of a token is stored; the token itself is shown once and never again.
CREATE TABLE tokens (
  project_id bigint NOT NULL,
  id bigint GENERATED ALWAYS AS IDENTITY,
  participation_id bigint NOT NULL,
  token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (project_id, id),
  FOREIGN KEY (project_id, participation_id)
    REFERENCES participations (project_id, id) ON DELETE CASCADE
);
CREATE INDEX tokens_participation_idx ON tokens (project_id, participation_id);

-- An MCP session is bound to the participation that opened it. Rows are small and carry no
-- per-session server objects: any Baton process can serve any session.
CREATE TABLE mcp_sessions (
  project_id bigint NOT NULL,
  id text NOT NULL CHECK (id ~ '^[A-Za-z0-9_-]{16,64}$'),
  participation_id bigint NOT NULL,
  protocol_version text NOT NULL CHECK (length(protocol_version) <= 32),
  client_name text CHECK (length(client_name) <= 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz,
  PRIMARY KEY (project_id, id),
  FOREIGN KEY (project_id, participation_id)
    REFERENCES participations (project_id, id) ON DELETE CASCADE
);
