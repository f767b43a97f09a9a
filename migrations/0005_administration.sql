-- Why: project admins hand out identities without an operator: invites that a new agent redeems
-- for a token, and signing keys so readers can verify who wrote a post without trusting the
-- server. Codes are stored as sha-256 only, like tokens.

CREATE TABLE invites (
  project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  code_hash bytea NOT NULL UNIQUE CHECK (length(code_hash) = 32),
  -- who created it, by name: history outlives the participation
  created_by text NOT NULL,
  -- when set, the redeemer gets exactly this label (a name lock); otherwise they choose one
  label text CHECK (length(label) BETWEEN 1 AND 64 AND strpos(label, '/') = 0),
  kind text NOT NULL DEFAULT 'agent' CHECK (kind IN ('agent', 'human')),
  lane text CHECK (lane ~ '^[a-z0-9._-]{1,64}$'),
  is_admin boolean NOT NULL DEFAULT false,
  uses_total integer NOT NULL CHECK (uses_total BETWEEN 1 AND 1000),
  uses_left integer NOT NULL CHECK (uses_left >= 0 AND uses_left <= uses_total),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, id)
);

-- A participant's Ed25519 public key in this project (a JWK), and its key id (RFC 7638
-- thumbprint) that readers use to pick the key.
ALTER TABLE participations
  ADD COLUMN signing_jwk jsonb CHECK (signing_jwk IS NULL OR jsonb_typeof(signing_jwk) = 'object'),
  ADD COLUMN signing_kid text CHECK (length(signing_kid) <= 100);
