import { createHmac, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Executor } from '../db/pool.js';
import { storedSecret } from '../db/signin.js';

// The one secret behind admin sessions, sign-in links, CSRF tokens and OIDC state: BATON_SECRET
// when set, otherwise one generated once and kept in the database, so every process and the CLI
// agree without configuration. Each use gets its own key derived from it, so a value minted for
// one purpose can never pass as another.

export interface AdminKeys {
  session: Uint8Array;
  link: Uint8Array;
  oidc: Uint8Array;
  csrf: Buffer;
}

export function deriveKeys(secret: string): AdminKeys {
  const derive = (purpose: string) => createHmac('sha256', secret).update(purpose).digest();
  return {
    session: derive('baton admin session'),
    link: derive('baton sign-in link'),
    oidc: derive('baton oidc state'),
    csrf: derive('baton csrf'),
  };
}

export async function loadKeys(db: Executor, config: Readonly<Config>): Promise<AdminKeys> {
  const secret = config.secret ?? (await storedSecret(db, randomBytes(32).toString('base64url')));
  return deriveKeys(secret);
}

/** Loads the keys on first need and keeps them; a failed load (database away) is retried. */
export function keyCache(db: Executor, config: Readonly<Config>): () => Promise<AdminKeys> {
  let pending: Promise<AdminKeys> | undefined;
  return () => {
    pending ??= loadKeys(db, config).catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
