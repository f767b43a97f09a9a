import { sql } from 'kysely';
import type { Executor, Trx } from './pool.js';

// The owner's self: the human participant an owner acts as from the web pages (the inbox), one
// per owner, marked `owner_self` (migrations/0013_owner_self.sql). Every query takes the owner's
// id, so another owner's project or participant finds nothing.

/** The owner's self participant, when it exists. */
export async function findOwnerSelf(
  db: Executor,
  ownerId: string,
): Promise<{ id: string; label: string } | undefined> {
  return db
    .selectFrom('participants')
    .select(['id', 'label'])
    .where('owner_id', '=', ownerId)
    .where('owner_self', '=', true)
    .executeTakeFirst();
}

/** Marks a human participant of the owner as their self (nothing when it is not one). */
export async function markOwnerSelf(trx: Trx, ownerId: string, participantId: string) {
  await trx
    .updateTable('participants')
    .set({ owner_self: true })
    .where('id', '=', participantId)
    .where('owner_id', '=', ownerId)
    .where('kind', '=', 'human')
    .execute();
}

export interface SelfParticipation {
  participation_id: string;
  participant_id: string;
  project_slug: string;
  handle: string;
  label: string;
  lane: string | null;
  is_admin: boolean;
  last_seen_at: Date | null;
}

/** The owner's self in their project, when it takes part in it. */
export async function findSelfParticipation(
  db: Executor,
  ownerId: string,
  projectId: string,
): Promise<SelfParticipation | undefined> {
  const { rows } = await sql<SelfParticipation>`
    select pa.id as participation_id, p.id as participant_id, pr.slug as project_slug,
           o.handle, p.label, pa.lane, pa.is_admin, pa.last_seen_at
    from projects pr
    join owners o on o.id = pr.owner_id
    join participants p on p.owner_id = pr.owner_id and p.owner_self
    join participations pa on pa.project_id = pr.id and pa.participant_id = p.id
    where pr.id = ${projectId} and pr.owner_id = ${ownerId}`.execute(db);
  return rows[0];
}

/**
 * The owner's unacknowledged posts in their project, for the count in the navigation; null when
 * their self does not take part in it yet.
 */
export async function selfUnread(
  db: Executor,
  ownerId: string,
  projectId: string,
): Promise<number | null> {
  const { rows } = await sql<{ unread: number | null }>`
    select (select count(*)::int from post_recipients r
            where r.project_id = pa.project_id and r.participation_id = pa.id
              and r.acked_at is null) as unread
    from projects pr
    join participants p on p.owner_id = pr.owner_id and p.owner_self
    join participations pa on pa.project_id = pr.id and pa.participant_id = p.id
    where pr.id = ${projectId} and pr.owner_id = ${ownerId}`.execute(db);
  return rows[0]?.unread ?? null;
}
