import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Trx } from './pool.js';

// Every advisory lock key comes from here, so two features can never collide on a key by
// accident. Keys are the first 8 bytes of sha-256 over a namespaced name, as a signed bigint.

export function lockKey(namespace: string, ...parts: (string | number)[]): string {
  const digest = createHash('sha256')
    .update([namespace, ...parts].join('\u0000'))
    .digest();
  return digest.readBigInt64BE(0).toString();
}

/** Transaction-scoped: released at commit or rollback, never leaked across requests. */
export async function advisoryXactLock(trx: Trx, namespace: string, ...parts: (string | number)[]) {
  await sql`select pg_advisory_xact_lock(${lockKey(namespace, ...parts)}::bigint)`.execute(trx);
}
