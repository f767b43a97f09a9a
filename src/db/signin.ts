import { sql } from 'kysely';
import type { Executor, Trx } from './pool.js';

// Owner sign-in: the installation's secret, one-time links, admin sessions and OpenID Connect
// identities. Keys and links are stored as sha-256 hashes only.

/**
 * The stored secret, created on first need. Concurrent first calls (two processes, or a process
 * and `baton admin-link`) race on the one-row key; the loser's insert does nothing and both read
 * the winner's secret.
 */
export async function storedSecret(db: Executor, candidate: string): Promise<string> {
  await sql`insert into server_settings (secret) values (${candidate}) on conflict do nothing`.execute(
    db,
  );
  const row = await db.selectFrom('server_settings').select('secret').executeTakeFirstOrThrow();
  return row.secret;
}

export interface OwnerRow {
  id: string;
  email: string;
  handle: string;
}

export async function insertLink(
  db: Executor,
  ownerId: string,
  keyHash: Buffer,
  ttlSeconds: number,
): Promise<Date> {
  // Links nobody used are worthless a day after they expire; forget them while we are here.
  await sql`delete from admin_links where expires_at < now() - interval '1 day'`.execute(db);
  const row = await db
    .insertInto('admin_links')
    .values({
      owner_id: ownerId,
      key_hash: keyHash,
      expires_at: sql<Date>`now() + make_interval(secs => ${ttlSeconds})`,
    })
    .returning('expires_at')
    .executeTakeFirstOrThrow();
  return row.expires_at;
}

export interface LinkRow {
  id: string;
  owner_id: string;
  email: string;
  handle: string;
  used: boolean;
  expired: boolean;
}

/**
 * The link for a key hash. With `lock`, the row stays locked until commit: two redemptions of
 * one link queue here, and the second sees the first one's `used_at`.
 */
export async function findLink(
  db: Executor,
  keyHash: Buffer,
  opts: { lock?: boolean } = {},
): Promise<LinkRow | undefined> {
  const { rows } = await sql<LinkRow>`
    select l.id, l.owner_id, o.email, o.handle, l.used_at is not null as used,
           l.expires_at <= now() as expired
    from admin_links l join owners o on o.id = l.owner_id
    where l.key_hash = ${keyHash}
    ${opts.lock ? sql`for update of l` : sql``}`.execute(db);
  return rows[0];
}

export async function markLinkUsed(trx: Trx, id: string): Promise<void> {
  await trx
    .updateTable('admin_links')
    .set({ used_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}

export async function insertAdminSession(
  db: Executor,
  s: { ownerId: string; keyHash: Buffer; via: 'link' | 'oidc'; ttlSeconds: number },
): Promise<void> {
  await sql`delete from admin_sessions where expires_at < now() - interval '7 days'`.execute(db);
  await db
    .insertInto('admin_sessions')
    .values({
      owner_id: s.ownerId,
      key_hash: s.keyHash,
      via: s.via,
      expires_at: sql<Date>`now() + make_interval(secs => ${s.ttlSeconds})`,
    })
    .execute();
}

export interface SessionRow {
  session_id: string;
  owner_id: string;
  handle: string;
  email: string;
}

/** A live session (not revoked, not expired, by the database clock) and its owner. */
export async function findLiveSession(
  db: Executor,
  keyHash: Buffer,
): Promise<SessionRow | undefined> {
  const { rows } = await sql<SessionRow>`
    select s.id as session_id, s.owner_id, o.handle, o.email
    from admin_sessions s join owners o on o.id = s.owner_id
    where s.key_hash = ${keyHash} and s.revoked_at is null and s.expires_at > now()`.execute(db);
  return rows[0];
}

export async function revokeAdminSession(db: Executor, keyHash: Buffer): Promise<void> {
  await db
    .updateTable('admin_sessions')
    .set({ revoked_at: sql`now()` })
    .where('key_hash', '=', keyHash)
    .where('revoked_at', 'is', null)
    .execute();
}

export async function findOidcIdentity(
  db: Executor,
  issuer: string,
  subject: string,
): Promise<OwnerRow | undefined> {
  return db
    .selectFrom('oidc_identities as i')
    .innerJoin('owners as o', 'o.id', 'i.owner_id')
    .select(['o.id', 'o.email', 'o.handle'])
    .where('i.issuer', '=', issuer)
    .where('i.subject', '=', subject)
    .executeTakeFirst();
}

/** Links (issuer, subject) to an owner, or records another sign-in of an existing link. */
export async function upsertOidcIdentity(
  db: Executor,
  i: { issuer: string; subject: string; ownerId: string; email: string },
): Promise<void> {
  await sql`
    insert into oidc_identities (issuer, subject, owner_id, email)
    values (${i.issuer}, ${i.subject}, ${i.ownerId}, ${i.email})
    on conflict (issuer, subject) do update
      set last_sign_in_at = now(), email = excluded.email`.execute(db);
}
