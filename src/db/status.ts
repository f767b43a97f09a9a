import { sql } from 'kysely';
import type { Executor } from './pool.js';
import { hasLiveToken } from './presence.js';

// The project at a glance (the `status` tool and the digest): what is held, by whom, whether
// the holder is still around, and what work is in flight.

export interface HeldLease {
  lease_id: string;
  actor: string;
  surface: string;
  mode: 'exclusive' | 'shared';
  expires_at: Date;
  /** The holder has not been seen within the project's liveness window, or has no live token. */
  orphaned: boolean;
}

export async function liveLeasesWithHolders(
  db: Executor,
  projectId: string,
  windowSeconds: number,
  limit: number,
) {
  const { rows } = await sql<HeldLease>`
    select l.id as lease_id, l.actor, l.surface, l.mode, l.expires_at,
           coalesce(pa.last_seen_at < now() - make_interval(secs => ${windowSeconds}), true)
             or not ${hasLiveToken} as orphaned
    from leases l
    left join participations pa on pa.project_id = l.project_id and pa.id = l.participation_id
    where l.project_id = ${projectId} and l.expires_at > now()
    order by l.surface, l.id
    limit ${limit}`.execute(db);
  return rows;
}

export async function taskCounts(db: Executor, projectId: string): Promise<Record<string, number>> {
  const { rows } = await sql<{ status: string; n: number }>`
    select status, count(*)::int as n from tasks where project_id = ${projectId} group by status`.execute(
    db,
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export interface StaleTask {
  task_id: string;
  title: string;
  status: string;
  owner: string | null;
  owner_last_seen: Date | null;
}

/**
 * In-progress or blocked tasks whose owner has not been seen within the liveness window, or can
 * no longer be (no live token).
 */
export async function staleTasks(
  db: Executor,
  projectId: string,
  windowSeconds: number,
  limit: number,
) {
  const { rows } = await sql<StaleTask>`
    select t.id as task_id, t.title, t.status,
           o.handle || '/' || p.label as owner, pa.last_seen_at as owner_last_seen
    from tasks t
    left join participations pa on pa.project_id = t.project_id and pa.id = t.owner_participation_id
    left join participants p on p.id = pa.participant_id
    left join owners o on o.id = p.owner_id
    where t.project_id = ${projectId} and t.status in ('in_progress', 'blocked')
      and (pa.last_seen_at is null or pa.last_seen_at < now() - make_interval(secs => ${windowSeconds})
           or not ${hasLiveToken})
    order by t.id
    limit ${limit}`.execute(db);
  return rows;
}

/** The caller's unfinished tasks, oldest first (for statements that embed it). */
export function myOpenTasksQuery(
  db: Executor,
  projectId: string,
  participationId: string,
  limit: number,
) {
  return db
    .selectFrom('tasks')
    .select(['id', 'title', 'status', 'lane'])
    .where('project_id', '=', projectId)
    .where('owner_participation_id', '=', participationId)
    .where('status', 'in', ['assigned', 'in_progress', 'blocked'])
    .orderBy('id')
    .limit(limit);
}

export async function recentEvents(db: Executor, projectId: string, limit: number) {
  return db
    .selectFrom('events')
    .select(['seq', 'type', 'actor', 'at', 'task_id', 'post_id', 'sequence', 'ref', 'tag', 'data'])
    .where('project_id', '=', projectId)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
}

/** How many of the newest flagged posts `status` looks through for pending actions. */
const ACTION_SCAN = 1000;

export interface PendingAction {
  post_id: string;
  sender_actor: string;
  action: string;
  subject: string | null;
  excerpt: string;
  tag: string | null;
  created_at: Date;
  /** Recipients with a live token who have not acked it. */
  waiting_on: string[];
}

/**
 * Flagged posts that still wait on someone, newest first: among the newest ACTION_SCAN posts
 * with an action (posts_action_idx), those with a recipient who has a live token and has not
 * acked. A revoked recipient can never ack, so it keeps no post pending.
 */
export async function pendingActions(
  db: Executor,
  projectId: string,
  limit: number,
): Promise<PendingAction[]> {
  const { rows } = await sql<PendingAction>`
    select p.id as post_id, p.sender_actor, p.action, p.subject, left(p.body, 120) as excerpt,
           p.tag, p.created_at, w.waiting_on
    from (
      select project_id, id, sender_actor, action, subject, body, tag, created_at from posts
      where project_id = ${projectId} and action is not null
      order by id desc
      limit ${ACTION_SCAN}
    ) p
    cross join lateral (
      select array_agg(o.handle || '/' || pt.label order by o.handle, pt.label) as waiting_on
      from post_recipients r
      join participations pa on pa.project_id = r.project_id and pa.id = r.participation_id
      join participants pt on pt.id = pa.participant_id
      join owners o on o.id = pt.owner_id
      where r.project_id = p.project_id and r.post_id = p.id and r.acked_at is null
        and ${hasLiveToken}
    ) w
    where w.waiting_on is not null
    order by p.id desc
    limit ${limit}`.execute(db);
  return rows;
}
