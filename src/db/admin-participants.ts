import { sql } from 'kysely';
import { conflict } from '../errors.js';
import { findParticipant, insertParticipant } from './identity.js';
import { advisoryXactLock } from './locks.js';
import type { Executor, Trx } from './pool.js';

// The owner's participants, for the web admin: owner-scoped like admin.ts. Renaming and deleting
// keep history (the ledger, claims and posts store the name that acted); what is live state
// (leases, task ownership) follows the participant.

export interface ParticipantEntry {
  id: string;
  label: string;
  kind: 'agent' | 'human';
  created_at: Date;
  projects: { id: string; slug: string; name: string }[];
}

export async function ownerParticipants(
  db: Executor,
  ownerId: string,
): Promise<ParticipantEntry[]> {
  const { rows } = await sql<ParticipantEntry>`
    select p.id, p.label, p.kind, p.created_at,
           coalesce(json_agg(json_build_object('id', pr.id::text, 'slug', pr.slug, 'name', pr.name)
                             order by pr.slug) filter (where pr.id is not null), '[]') as projects
    from participants p
    left join participations pa on pa.participant_id = p.id
    left join projects pr on pr.id = pa.project_id and pr.owner_id = ${ownerId}
    where p.owner_id = ${ownerId}
    group by p.id
    order by p.label`.execute(db);
  return rows;
}

export async function ownedParticipant(
  db: Executor,
  ownerId: string,
  participantId: string,
  opts: { lock?: boolean } = {},
) {
  const { rows } = await sql<{ id: string; label: string; kind: 'agent' | 'human' }>`
    select id, label, kind from participants
    where id = ${participantId} and owner_id = ${ownerId}
    ${opts.lock ? sql`for update` : sql``}`.execute(db);
  return rows[0];
}

export interface ParticipantProject {
  project_id: string;
  slug: string;
  name: string;
  participation_id: string;
  lane: string | null;
  is_admin: boolean;
  last_seen_at: Date | null;
  live_tokens: number;
  live_leases: number;
}

/** Where a participant takes part, oldest project first (the order admin writes lock in). */
export async function participantProjects(
  db: Executor,
  ownerId: string,
  participantId: string,
): Promise<ParticipantProject[]> {
  const { rows } = await sql<ParticipantProject>`
    select pr.id as project_id, pr.slug, pr.name, pa.id as participation_id, pa.lane, pa.is_admin,
           pa.last_seen_at,
           (select count(*) from tokens t
            where t.project_id = pa.project_id and t.participation_id = pa.id
              and t.revoked_at is null and (t.expires_at is null or t.expires_at > now()))::int
             as live_tokens,
           (select count(*) from leases l
            where l.project_id = pa.project_id and l.participation_id = pa.id
              and l.expires_at > now())::int as live_leases
    from participations pa
    join projects pr on pr.id = pa.project_id and pr.owner_id = ${ownerId}
    where pa.participant_id = ${participantId}
    order by pr.id`.execute(db);
  return rows;
}

export async function createParticipant(
  trx: Trx,
  ownerId: string,
  label: string,
  kind: 'agent' | 'human',
) {
  // The lock grantAndMint takes, so a grant and a create of one label cannot both insert it.
  await advisoryXactLock(trx, 'owner-provision', ownerId);
  if (await findParticipant(trx, ownerId, label)) {
    throw conflict(`you already have a participant named "${label}"; choose another`);
  }
  return insertParticipant(trx, ownerId, label, kind);
}

export async function renameParticipant(
  trx: Trx,
  ownerId: string,
  participantId: string,
  label: string,
): Promise<void> {
  await advisoryXactLock(trx, 'owner-provision', ownerId);
  const other = await findParticipant(trx, ownerId, label);
  if (other && other.id !== participantId) {
    throw conflict(`you already have a participant named "${label}"; choose another`);
  }
  await trx
    .updateTable('participants')
    .set({ label })
    .where('id', '=', participantId)
    .where('owner_id', '=', ownerId)
    .execute();
}

/**
 * Live leases show their holder by name; a renamed holder keeps them under the new name. (The
 * ledger, claims and posts keep the name that acted at the time.) One project at a time, like
 * every write: the caller goes through participantProjects.
 */
export async function renameLeaseHolder(
  trx: Trx,
  projectId: string,
  participationId: string,
  actor: string,
): Promise<void> {
  await trx
    .updateTable('leases')
    .set({ actor })
    .where('project_id', '=', projectId)
    .where('participation_id', '=', participationId)
    .execute();
}

/**
 * Returns a participation's unfinished tasks to the pool before its participant is deleted:
 * assigned or started work becomes open again, and a blocked task keeps its blockers but loses
 * its owner.
 */
export async function releaseTasksOf(trx: Trx, projectId: string, participationId: string) {
  const { rows } = await sql<{ task_id: string; previous_status: string }>`
    with mine as (
      select id, status from tasks
      where project_id = ${projectId} and owner_participation_id = ${participationId}
        and status in ('assigned', 'in_progress', 'blocked')
      order by id
      for update
    )
    update tasks t
    set status = case when mine.status = 'blocked' then 'blocked' else 'open' end,
        owner_participation_id = null, started_at = null, hold_seconds = null, updated_at = now()
    from mine
    where t.project_id = ${projectId} and t.id = mine.id
    returning t.id as task_id, mine.status as previous_status`.execute(trx);
  return rows;
}

/** Deletes the participant, its participations and their tokens; the ledger keeps its name. */
export async function deleteParticipant(trx: Trx, ownerId: string, participantId: string) {
  const r = await trx
    .deleteFrom('participants')
    .where('id', '=', participantId)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
