import { sql } from 'kysely';
import type { Executor, Trx } from './pool.js';

// Presence (lanes, statuses, who has been seen lately) and finding participants by the names
// other tools are given: an actor, a lane. Liveness itself is written by authentication
// (touchParticipation in identity.ts), at most once per 10 s per participation.

/**
 * Whether the participation row `pa` has a live token (not revoked, not expired). A participant
 * without one cannot call: it receives no posts, and never counts as active or as someone a post
 * waits on (spec §7).
 */
export const hasLiveToken = sql<boolean>`exists (
  select 1 from tokens t
  where t.project_id = pa.project_id and t.participation_id = pa.id
    and t.revoked_at is null and (t.expires_at is null or t.expires_at > now()))`;

/**
 * Records the lanes a statement sets among the project's lanes (`lanes`, the lanes ever used), in
 * that statement: it names the participations it inserted or updated `pa`, returning their
 * project_id and lane. A trigger would do it for every path, but a table distributed by project
 * cannot have one (migrations/0010_lanes_without_trigger.sql).
 */
export const RECORD_LANES = sql`
  insert into lanes (project_id, name)
  select project_id, lane from pa where lane is not null
  on conflict do nothing`;

/** Sets my lane and status; returns the lane I was in before. */
export async function setLaneAndStatus(
  trx: Trx,
  projectId: string,
  participationId: string,
  lane: string,
  status: string | null,
): Promise<{ previous_lane: string | null }> {
  // The CTE reads the old lane under the same row lock the update takes. The lane is recorded
  // among the project's lanes in the same statement (RECORD_LANES).
  const { rows } = await sql<{ previous_lane: string | null }>`
    with old as (
      select lane from participations
      where project_id = ${projectId} and id = ${participationId}
      for no key update
    ), pa as (
      update participations moved set lane = ${lane}, status = ${status}
      from old
      where moved.project_id = ${projectId} and moved.id = ${participationId}
      returning moved.project_id, moved.lane, old.lane as previous_lane
    ), remembered as (${RECORD_LANES})
    select previous_lane from pa`.execute(trx);
  return rows[0] ?? { previous_lane: null };
}

/** Whether anyone in the project has ever registered in, or been given, this lane. */
export async function laneExists(db: Executor, projectId: string, lane: string): Promise<boolean> {
  const row = await db
    .selectFrom('lanes')
    .select('name')
    .where('project_id', '=', projectId)
    .where('name', '=', lane)
    .executeTakeFirst();
  return row !== undefined;
}

export async function knownLanes(db: Executor, projectId: string, limit = 50): Promise<string[]> {
  const rows = await db
    .selectFrom('lanes')
    .select('name')
    .where('project_id', '=', projectId)
    .orderBy('name')
    .limit(limit)
    .execute();
  return rows.map((r) => r.name);
}

export async function findParticipationByActor(
  db: Executor,
  projectId: string,
  actor: string,
): Promise<{ id: string; actor: string } | undefined> {
  const slash = actor.indexOf('/');
  const { rows } = await sql<{ id: string; actor: string }>`
    select pa.id, o.handle || '/' || p.label as actor
    from participations pa
    join participants p on p.id = pa.participant_id
    join owners o on o.id = p.owner_id
    where pa.project_id = ${projectId}
      and o.handle = ${actor.slice(0, slash)} and p.label = ${actor.slice(slash + 1)}`.execute(db);
  return rows[0];
}

/** Whether `handle` is a person of this project: its owner, or the owner of one of its participants. */
export async function handleInProject(
  db: Executor,
  projectId: string,
  handle: string,
): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    select exists (
      select 1 from projects pr join owners o on o.id = pr.owner_id
      where pr.id = ${projectId} and o.handle = ${handle}
    ) or exists (
      select 1 from participations pa
      join participants p on p.id = pa.participant_id
      join owners o on o.id = p.owner_id
      where pa.project_id = ${projectId} and o.handle = ${handle}
    ) as found`.execute(db);
  return rows[0]?.found === true;
}

/** The actors of this project whose label is `label` (what a bare label most likely meant). */
export async function actorsWithLabel(
  db: Executor,
  projectId: string,
  label: string,
): Promise<string[]> {
  const { rows } = await sql<{ actor: string }>`
    select o.handle || '/' || p.label as actor
    from participations pa
    join participants p on p.id = pa.participant_id
    join owners o on o.id = p.owner_id
    where pa.project_id = ${projectId} and p.label = ${label}
    order by actor
    limit 10`.execute(db);
  return rows.map((r) => r.actor);
}

/** Actors of the project to suggest after a miss: same handle first, then the recently seen. */
export async function suggestActors(
  db: Executor,
  projectId: string,
  near: string,
  limit = 20,
): Promise<string[]> {
  const { rows } = await sql<{ actor: string }>`
    select o.handle || '/' || p.label as actor
    from participations pa
    join participants p on p.id = pa.participant_id
    join owners o on o.id = p.owner_id
    where pa.project_id = ${projectId}
    order by (o.handle = ${near.split('/')[0] ?? ''}) desc, pa.last_seen_at desc nulls last, actor
    limit ${limit}`.execute(db);
  return rows.map((r) => r.actor);
}

export interface ActiveRow {
  actor: string;
  kind: 'agent' | 'human';
  lane: string | null;
  status: string | null;
  last_seen_at: Date;
  self: boolean;
}

/**
 * Participations seen within the window (the project's liveness window unless given), newest
 * first, that still have a live token. The caller is always active: it is calling right now,
 * even if its debounced liveness write has not landed yet.
 */
export async function activeParticipants(
  db: Executor,
  projectId: string,
  me: string,
  opts: { lane?: string; withinSeconds: number },
): Promise<ActiveRow[]> {
  const { rows } = await sql<ActiveRow>`
    select o.handle || '/' || p.label as actor, p.kind, pa.lane, pa.status,
           case when pa.id = ${me} then now() else pa.last_seen_at end as last_seen_at,
           pa.id = ${me} as self
    from participations pa
    join participants p on p.id = pa.participant_id
    join owners o on o.id = p.owner_id
    where pa.project_id = ${projectId}
      and (pa.id = ${me} or (pa.last_seen_at > now() - make_interval(secs => ${opts.withinSeconds})
                             and ${hasLiveToken}))
      ${opts.lane === undefined ? sql`` : sql`and pa.lane = ${opts.lane}`}
    order by last_seen_at desc, actor`.execute(db);
  return rows;
}

export async function livenessWindow(db: Executor, projectId: string): Promise<number> {
  const row = await db
    .selectFrom('projects')
    .select('liveness_window_seconds')
    .where('id', '=', projectId)
    .executeTakeFirstOrThrow();
  return row.liveness_window_seconds;
}

/** Returns the window it replaced. */
export async function setLivenessWindow(
  trx: Trx,
  projectId: string,
  seconds: number,
): Promise<number> {
  const { rows } = await sql<{ previous: number }>`
    with old as (
      select liveness_window_seconds from projects where id = ${projectId} for no key update
    )
    update projects pr set liveness_window_seconds = ${seconds}
    from old
    where pr.id = ${projectId}
    returning old.liveness_window_seconds as previous`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('project row missing');
  return row.previous;
}
