import { sql } from 'kysely';
import type { Executor } from './pool.js';

// The project at a glance (the `status` tool and the digest): what is held, by whom, whether
// the holder is still around, and what work is in flight.

export interface HeldLease {
  lease_id: string;
  actor: string;
  surface: string;
  mode: 'exclusive' | 'shared';
  expires_at: Date;
  /** The holder has not been seen within the project's liveness window. */
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
           coalesce(pa.last_seen_at < now() - make_interval(secs => ${windowSeconds}), true) as orphaned
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

/** In-progress or blocked tasks whose owner has not been seen within the liveness window. */
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
      and (pa.last_seen_at is null or pa.last_seen_at < now() - make_interval(secs => ${windowSeconds}))
    order by t.id
    limit ${limit}`.execute(db);
  return rows;
}

/** Tasks assigned to me that are not finished, oldest first. */
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
    .select(['seq', 'type', 'actor', 'at', 'task_id', 'post_id', 'sequence', 'ref'])
    .where('project_id', '=', projectId)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
}
