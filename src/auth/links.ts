import { randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { invalid, notFound } from '../errors.js';
import { findOwnerByEmail } from '../db/identity.js';
import type { Executor, Trx } from '../db/pool.js';
import { findLink, insertLink, markLinkUsed, type OwnerRow } from '../db/signin.js';
import { EMAIL } from '../names.js';
import type { AdminKeys } from './secret.js';
import { hashToken } from './tokens.js';

// One-time sign-in links (`baton admin-link <email>`). The URL carries a JWT signed with the
// link key whose subject is a random key; the database keeps only that key's sha-256, its
// expiry and whether it was used. A tampered token fails the signature, an unknown key the
// lookup, and redemption locks the row so a link signs in once however many tabs race.

export const LINK_TTL_SECONDS = 15 * 60;
const AUDIENCE = 'baton:sign-in-link';
const MAX_TOKEN_LENGTH = 1000;

export type LinkProblem = 'invalid' | 'expired' | 'used';

export const LINK_PROBLEMS: Record<LinkProblem, string> = {
  invalid:
    'This sign-in link is not valid: it may be mistyped or cut short. Run `npx baton admin-link <email>` on the server for a new one.',
  expired:
    'This sign-in link has expired (links last 15 minutes). Run `npx baton admin-link <email>` on the server for a new one.',
  used: 'This sign-in link has already been used: each link signs in once. Run `npx baton admin-link <email>` on the server for a new one.',
};

export async function issueSignInLink(
  db: Executor,
  keys: AdminKeys,
  publicUrl: string,
  email: string,
): Promise<{ url: string; owner: OwnerRow; expiresAt: Date }> {
  const parsed = EMAIL.safeParse(email);
  if (!parsed.success) throw invalid(`"${email.slice(0, 254)}" is not an email address`);
  const owner = await findOwnerByEmail(db, parsed.data);
  if (!owner) {
    throw notFound(
      `no owner has the email ${parsed.data}; create one with npx baton bootstrap-owner ${parsed.data}`,
    );
  }
  const key = randomBytes(32).toString('base64url');
  const expiresAt = await insertLink(db, owner.id, hashToken(key), LINK_TTL_SECONDS);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(key)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(keys.link);
  return { url: `${publicUrl}/admin/login/link?token=${token}`, owner, expiresAt };
}

/** The link's key when the token is ours and unexpired; otherwise why not. */
async function linkKey(
  keys: AdminKeys,
  token: string,
): Promise<{ key: string } | { problem: LinkProblem }> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { problem: 'invalid' };
  try {
    const { payload } = await jwtVerify(token, keys.link, {
      audience: AUDIENCE,
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp'],
    });
    return typeof payload.sub === 'string' ? { key: payload.sub } : { problem: 'invalid' };
  } catch (err) {
    return { problem: err instanceof errors.JWTExpired ? 'expired' : 'invalid' };
  }
}

export type LinkOutcome = { ok: true; owner: OwnerRow } | { ok: false; problem: LinkProblem };

/** Checks a link without using it (the confirmation page). */
export async function inspectLink(
  db: Executor,
  keys: AdminKeys,
  token: string,
): Promise<LinkOutcome> {
  return check(db, keys, token, false);
}

/** Uses a link: at most one caller ever gets `ok` for it. Call inside the session's transaction. */
export async function redeemLink(trx: Trx, keys: AdminKeys, token: string): Promise<LinkOutcome> {
  return check(trx, keys, token, true);
}

async function check(
  db: Executor,
  keys: AdminKeys,
  token: string,
  use: boolean,
): Promise<LinkOutcome> {
  const verified = await linkKey(keys, token);
  if ('problem' in verified) return { ok: false, problem: verified.problem };
  const link = await findLink(db, hashToken(verified.key), { lock: use });
  if (!link) return { ok: false, problem: 'invalid' };
  if (link.used) return { ok: false, problem: 'used' };
  if (link.expired) return { ok: false, problem: 'expired' };
  if (use) await markLinkUsed(db as Trx, link.id);
  return { ok: true, owner: { id: link.owner_id, email: link.email, handle: link.handle } };
}
