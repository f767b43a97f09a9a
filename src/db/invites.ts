import { sql } from 'kysely';
import type { Executor, Trx } from './pool.js';

// Invite codes: only their sha-256 is stored; redemption locks the row so uses are exact.

export interface NewInvite {
  projectId: string;
  codeHash: Buffer;
  createdBy: string;
  label: string | null;
  kind: 'agent' | 'human';
  lane: string | null;
  isAdmin: boolean;
  uses: number;
  ttlHours: number;
}

export async function insertInvite(trx: Trx, i: NewInvite) {
  return trx
    .insertInto('invites')
    .values({
      project_id: i.projectId,
      code_hash: i.codeHash,
      created_by: i.createdBy,
      label: i.label,
      kind: i.kind,
      lane: i.lane,
      is_admin: i.isAdmin,
      uses_total: i.uses,
      uses_left: i.uses,
      expires_at: sql<Date>`now() + make_interval(hours => ${i.ttlHours})`,
    })
    .returning(['id', 'expires_at'])
    .executeTakeFirstOrThrow();
}

export interface InviteRow {
  project_id: string;
  id: string;
  label: string | null;
  kind: 'agent' | 'human';
  lane: string | null;
  is_admin: boolean;
  uses_left: number;
  expires_at: Date;
  revoked: boolean;
  expired: boolean;
  owner_id: string;
  owner_handle: string;
  project_slug: string;
}

/**
 * The invite for a code, row-locked for the rest of the redeeming transaction: concurrent
 * redeemers of one code queue here, and each sees the uses the previous one left. The code names
 * no project, so the invite is found first and then locked by its project and id: a lock is
 * always taken within one project (a database distributed by project routes it to one node).
 */
export async function lockInviteByCode(trx: Trx, codeHash: Buffer): Promise<InviteRow | undefined> {
  const found = await trx
    .selectFrom('invites')
    .select(['project_id', 'id'])
    .where('code_hash', '=', codeHash)
    .executeTakeFirst();
  if (!found) return undefined;
  const { rows } = await sql<InviteRow>`
    select i.project_id, i.id, i.label, i.kind, i.lane, i.is_admin, i.uses_left, i.expires_at,
           i.revoked_at is not null as revoked, i.expires_at <= now() as expired,
           pr.owner_id, o.handle as owner_handle, pr.slug as project_slug
    from invites i
    join projects pr on pr.id = i.project_id
    join owners o on o.id = pr.owner_id
    where i.project_id = ${found.project_id} and i.id = ${found.id}
    for update of i`.execute(trx);
  return rows[0];
}

export async function useInvite(trx: Trx, projectId: string, inviteId: string) {
  await trx
    .updateTable('invites')
    .set({ uses_left: sql`uses_left - 1` })
    .where('project_id', '=', projectId)
    .where('id', '=', inviteId)
    .execute();
}

/** Ends an invite of this project early; undefined when no live invite of it matches. */
export async function revokeInvite(
  db: Executor,
  projectId: string,
  by: { codeHash: Buffer } | { id: string },
) {
  return db
    .updateTable('invites')
    .set({ revoked_at: sql`now()` })
    .where('project_id', '=', projectId)
    .where((eb) => ('codeHash' in by ? eb('code_hash', '=', by.codeHash) : eb('id', '=', by.id)))
    .where('revoked_at', 'is', null)
    .returning(['id', 'uses_left'])
    .executeTakeFirst();
}

/** An invite of this project by code or id, live or not: to tell "already revoked" from unknown. */
export async function findInvite(
  db: Executor,
  projectId: string,
  by: { codeHash: Buffer } | { id: string },
) {
  return db
    .selectFrom('invites')
    .select(['id', 'uses_left', sql<boolean>`revoked_at is not null`.as('revoked')])
    .where('project_id', '=', projectId)
    .where((eb) => ('codeHash' in by ? eb('code_hash', '=', by.codeHash) : eb('id', '=', by.id)))
    .executeTakeFirst();
}
