-- Why: signed posts (spec §7 Signing). A post may carry a compact JWS by its sender over the
-- post's canonical content; the server verifies it against the sender's registered Ed25519 key
-- (participations.signing_jwk) and keeps it, so readers can verify the post without trusting
-- the server.

ALTER TABLE posts
  ADD COLUMN signature text CHECK (length(signature) <= 8192),
  ADD COLUMN signing_kid text CHECK (length(signing_kid) <= 100),
  ADD CONSTRAINT posts_signature_kid CHECK ((signature IS NULL) = (signing_kid IS NULL));
