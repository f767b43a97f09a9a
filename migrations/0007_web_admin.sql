-- Why: the web admin (spec §9). Owners sign in with one-time links or OpenID Connect and hold a
-- session; every request checks the session row, so a logout or a revocation holds on every
-- process at once, and any process can serve any request. None of these tables is
-- project-scoped: sessions, links and OIDC identities belong to owners, the secret to the
-- installation.

-- One row: the secret that signs admin sessions and sign-in links when BATON_SECRET is not set
-- (spec §3, "generated once, kept in the database"). Every process and the CLI read the same one.
CREATE TABLE server_settings (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  secret text NOT NULL CHECK (length(secret) >= 32),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The cookie carries a signed random key; only its sha-256 is stored, like tokens, so a
-- database dump cannot be replayed as a session.
CREATE TABLE admin_sessions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key_hash bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  owner_id bigint NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
  via text NOT NULL CHECK (via IN ('link', 'oidc')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX admin_sessions_owner_idx ON admin_sessions (owner_id);
CREATE INDEX admin_sessions_expiry_idx ON admin_sessions (expires_at);

-- One-time sign-in links from `baton admin-link`: stored hashed, used under a row lock, once.
CREATE TABLE admin_links (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key_hash bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  owner_id bigint NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX admin_links_owner_idx ON admin_links (owner_id);
CREATE INDEX admin_links_expiry_idx ON admin_links (expires_at);

-- An OpenID Connect identity is its issuer and subject; the email only links it to an owner the
-- first time, so a changed address at the provider keeps the same owner.
CREATE TABLE oidc_identities (
  issuer text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 500),
  subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  owner_id bigint NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_owner_idx ON oidc_identities (owner_id);
