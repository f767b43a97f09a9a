import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { jwtVerify, SignJWT } from 'jose';
import type { Config } from '../config.js';
import type { Executor } from '../db/pool.js';
import { findLiveSession, insertAdminSession, revokeAdminSession } from '../db/signin.js';
import type { AdminKeys } from './secret.js';
import { hashToken } from './tokens.js';

// Admin sessions. The cookie holds a JWT signed with the session key whose subject is a random
// session key; the database holds the key's hash, the owner, the expiry and a revocation time.
// Every request verifies the signature and then finds the live row, so a logout (or a revoked
// session) is refused on every process from the next request on, and no identity header or
// unsigned value is ever believed.

const SESSION_TTL_SECONDS = 12 * 3600;
const SESSION_COOKIE = 'baton_admin';
const AUDIENCE = 'baton:admin-session';
const MAX_COOKIE_HEADER = 8192;

export interface AdminSession {
  ownerId: string;
  handle: string;
  email: string;
  /** The random key the cookie carries: CSRF tokens are derived from it. */
  key: string;
  csrf: string;
}

export function parseCookies(req: IncomingMessage): Map<string, string> {
  const header = req.headers.cookie ?? '';
  const out = new Map<string, string>();
  if (header.length > MAX_COOKIE_HEADER) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    // The first of two same-named cookies wins, as browsers send the most specific path first.
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

export interface CookieOptions {
  path: string;
  maxAge: number;
  secure: boolean;
}

export function serializeCookie(name: string, value: string, o: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Path=${o.path}`,
    `Max-Age=${o.maxAge}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(o.secure ? ['Secure'] : []),
  ].join('; ');
}

export const isSecure = (config: Readonly<Config>) => config.publicUrl.startsWith('https://');

function csrfFor(keys: AdminKeys, key: string): string {
  return createHmac('sha256', keys.csrf).update(`session\u0000${key}`).digest('base64url');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Creates the session row; returns the Set-Cookie value that carries it. */
export async function startSession(
  db: Executor,
  keys: AdminKeys,
  config: Readonly<Config>,
  ownerId: string,
  via: 'link' | 'oidc',
): Promise<string> {
  const key = randomBytes(32).toString('base64url');
  await insertAdminSession(db, {
    ownerId,
    keyHash: hashToken(key),
    via,
    ttlSeconds: SESSION_TTL_SECONDS,
  });
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(key)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${SESSION_TTL_SECONDS}s`)
    .sign(keys.session);
  return serializeCookie(SESSION_COOKIE, jwt, {
    path: '/admin',
    maxAge: SESSION_TTL_SECONDS,
    secure: isSecure(config),
  });
}

export function clearSessionCookie(config: Readonly<Config>): string {
  return serializeCookie(SESSION_COOKIE, '', {
    path: '/admin',
    maxAge: 0,
    secure: isSecure(config),
  });
}

/** The session key of a request's cookie when its signature holds; nothing else is trusted. */
async function cookieKey(req: IncomingMessage, keys: AdminKeys): Promise<string | undefined> {
  const jwt = parseCookies(req).get(SESSION_COOKIE);
  if (!jwt || jwt.length > 2048) return undefined;
  try {
    const { payload } = await jwtVerify(jwt, keys.session, {
      audience: AUDIENCE,
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp'],
    });
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

export async function readSession(
  req: IncomingMessage,
  db: Executor,
  keys: AdminKeys,
): Promise<AdminSession | undefined> {
  const key = await cookieKey(req, keys);
  if (!key) return undefined;
  const row = await findLiveSession(db, hashToken(key));
  if (!row) return undefined;
  return {
    ownerId: row.owner_id,
    handle: row.handle,
    email: row.email,
    key,
    csrf: csrfFor(keys, key),
  };
}

/** Whether the session behind this key is still live (long-lived streams re-check it). */
export async function sessionAlive(db: Executor, key: string): Promise<boolean> {
  return (await findLiveSession(db, hashToken(key))) !== undefined;
}

export async function endSession(db: Executor, key: string): Promise<void> {
  await revokeAdminSession(db, hashToken(key));
}
