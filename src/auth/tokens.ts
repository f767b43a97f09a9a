import { hash, randomBytes } from 'node:crypto';

// A token is `baton_` + 43 base64url characters (32 random bytes). Only its sha-256 is stored,
// so a database dump does not hand out identities.

const TOKEN_PATTERN = /^baton_[A-Za-z0-9_-]{43}$/;

export function mintToken(): { token: string; hash: Buffer } {
  const token = `baton_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  // The one-shot form: every request hashes its token, and createHash() costs more per call.
  return hash('sha256', token, 'buffer');
}

/** The bearer token of an Authorization header, or undefined when absent or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const token = m?.[1];
  return token && TOKEN_PATTERN.test(token) ? token : undefined;
}

// Invite codes look like tokens with their own prefix, so neither can be mistaken for the other.
export const INVITE_PATTERN = /^baton_inv_[A-Za-z0-9_-]{43}$/;

export function mintInviteCode(): { code: string; hash: Buffer } {
  const code = `baton_inv_${randomBytes(32).toString('base64url')}`;
  return { code, hash: hashToken(code) };
}
