import { sql } from 'kysely';
import { conflict } from '../errors.js';
import { findProject, insertProject } from './identity.js';
import { notifyAccessChanged } from './ledger.js';
import { advisoryXactLock } from './locks.js';
import type { Executor, Trx } from './pool.js';
import { hasLiveToken } from './presence.js';

// Owner-scoped queries for the web admin. Every function takes the signed-in owner's id and
// filters on it, so an id that belongs to another owner finds nothing and the page answers 404.
// Project pages start with ownedProject(); the project-scoped queries of other areas that they
// reuse (leases, tasks, the ledger) only ever receive a project id that passed it.

export interface OwnedProject {
  id: string;
  slug: string;
  name: string;
  liveness_window_seconds: number;
  created_at: Date;
}

/**
 * The owner's project, or undefined. With `lock`, the row is key-share locked until commit, so
 * the project cannot be deleted under a write that acts in it.
 */
export async function ownedProject(
  db: Executor,
  ownerId: string,
  projectId: string,
  opts: { lock?: boolean } = {},
): Promise<OwnedProject | undefined> {
  const { rows } = await sql<OwnedProject>`
    select id, slug, name, liveness_window_seconds, created_at from projects
    where id = ${projectId} and owner_id = ${ownerId}
    ${opts.lock ? sql`for key share` : sql``}`.execute(db);
  return rows[0];
}

export interface ProjectSummary extends OwnedProject {
  participants: number;
  active: number;
  events: string;
}

export async function listProjects(db: Executor, ownerId: string): Promise<ProjectSummary[]> {
  const { rows } = await sql<ProjectSummary>`
    select pr.id, pr.slug, pr.name, pr.liveness_window_seconds, pr.created_at,
           count(pa.id)::int as participants,
           count(pa.id) filter (where pa.last_seen_at > now()
             - make_interval(secs => pr.liveness_window_seconds) and ${hasLiveToken})::int as active,
           coalesce(max(h.last_seq), 0)::text as events
    from projects pr
    left join participations pa on pa.project_id = pr.id
    left join ledger_heads h on h.project_id = pr.id
    where pr.owner_id = ${ownerId}
    group by pr.id
    order by pr.slug`.execute(db);
  return rows;
}

export async function createProject(trx: Trx, ownerId: string, slug: string, name: string) {
  // The same lock seed-token takes, so the two cannot both create one slug.
  await advisoryXactLock(trx, 'owner-projects', ownerId);
  if (await findProject(trx, ownerId, slug)) {
    throw conflict(`you already have a project with the slug "${slug}"; choose another`);
  }
  return insertProject(trx, ownerId, slug, name);
}

/** Renames; returns the previous slug and name, or undefined when it is not the owner's. */
export async function renameProject(
  trx: Trx,
  ownerId: string,
  projectId: string,
  to: { slug: string; name: string },
): Promise<{ slug: string; name: string } | undefined> {
  await advisoryXactLock(trx, 'owner-projects', ownerId);
  const other = await findProject(trx, ownerId, to.slug);
  if (other && other.id !== projectId) {
    throw conflict(`you already have a project with the slug "${to.slug}"; choose another`);
  }
  const { rows } = await sql<{ slug: string; name: string }>`
    with old as (
      select slug, name from projects
      where id = ${projectId} and owner_id = ${ownerId} for update
    )
    update projects pr set slug = ${to.slug}, name = ${to.name}
    from old
    where pr.id = ${projectId} and pr.owner_id = ${ownerId}
    returning old.slug, old.name`.execute(trx);
  return rows[0];
}

/**
 * Deletes the project and everything in it (its ledger too). No event can say so, so every
 * process is told directly that the project's tokens resolve to nothing any more.
 */
export async function deleteProject(trx: Trx, ownerId: string, projectId: string) {
  const r = await trx
    .deleteFrom('projects')
    .where('id', '=', projectId)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();
  const deleted = Number(r.numDeletedRows) > 0;
  if (deleted) await notifyAccessChanged(trx, projectId);
  return deleted;
}

export interface RosterEntry {
  participation_id: string;
  participant_id: string;
  handle: string;
  label: string;
  kind: 'agent' | 'human';
  lane: string | null;
  status: string | null;
  is_admin: boolean;
  last_seen_at: Date | null;
  active: boolean;
  live_tokens: number;
  tokens_last_used_at: Date | null;
}

/** The project's participants with presence and token state, active ones first. */
export async function projectRoster(
  db: Executor,
  ownerId: string,
  projectId: string,
): Promise<RosterEntry[]> {
  const { rows } = await sql<RosterEntry>`
    select pa.id as participation_id, p.id as participant_id, o.handle, p.label, p.kind, pa.lane,
           pa.status, pa.is_admin, pa.last_seen_at,
           coalesce(pa.last_seen_at > now() - make_interval(secs => pr.liveness_window_seconds),
                    false) and tk.live_tokens > 0 as active,
           tk.live_tokens, tk.last_used as tokens_last_used_at
    from participations pa
    join projects pr on pr.id = pa.project_id and pr.owner_id = ${ownerId}
    join participants p on p.id = pa.participant_id
    join owners o on o.id = p.owner_id
    cross join lateral (
      select count(*) filter (where t.revoked_at is null
                                and (t.expires_at is null or t.expires_at > now()))::int as live_tokens,
             max(t.last_used_at) as last_used
      from tokens t where t.project_id = pa.project_id and t.participation_id = pa.id
    ) tk
    where pa.project_id = ${projectId}
    order by active desc, pa.last_seen_at desc nulls last, p.label`.execute(db);
  return rows;
}

export interface InviteEntry {
  id: string;
  label: string | null;
  kind: 'agent' | 'human';
  lane: string | null;
  is_admin: boolean;
  uses_left: number;
  uses_total: number;
  expires_at: Date;
  revoked_at: Date | null;
  created_by: string;
  live: boolean;
}

export async function projectInvites(
  db: Executor,
  ownerId: string,
  projectId: string,
  limit = 50,
): Promise<InviteEntry[]> {
  const { rows } = await sql<InviteEntry>`
    select i.id, i.label, i.kind, i.lane, i.is_admin, i.uses_left, i.uses_total, i.expires_at,
           i.revoked_at, i.created_by,
           (i.revoked_at is null and i.expires_at > now() and i.uses_left > 0) as live
    from invites i
    join projects pr on pr.id = i.project_id and pr.owner_id = ${ownerId}
    where i.project_id = ${projectId}
    order by live desc, i.id desc
    limit ${limit}`.execute(db);
  return rows;
}

export interface PathIds {
  project?: string;
  participation?: string;
  invite?: string;
  participant?: string;
}

const PATH_ID_KINDS: ReadonlySet<string> = new Set<keyof PathIds>([
  'project',
  'participation',
  'invite',
  'participant',
]);

/**
 * Whether every id a path names belongs to this owner (participations and invites inside the
 * named project). One query, run before a handler parses anything, so another owner's ids
 * answer 404 whatever else the request holds.
 */
export async function ownsPath(db: Executor, ownerId: string, ids: PathIds): Promise<boolean> {
  // A path parameter this check does not know is never assumed to be owned: a new route with a
  // new kind of id must teach this query about it before it can serve anything.
  if (Object.keys(ids).some((k) => !PATH_ID_KINDS.has(k))) return false;
  const project = ids.project ?? null;
  const participation = ids.participation ?? null;
  const invite = ids.invite ?? null;
  const participant = ids.participant ?? null;
  const { rows } = await sql<{ ok: boolean }>`
    select
      (${project}::bigint is null or exists (
        select 1 from projects where id = ${project}::bigint and owner_id = ${ownerId}))
      and (${participation}::bigint is null or exists (
        select 1 from participations pa
        join projects pr on pr.id = pa.project_id and pr.owner_id = ${ownerId}
        where pa.project_id = ${project}::bigint and pa.id = ${participation}::bigint))
      and (${invite}::bigint is null or exists (
        select 1 from invites i
        join projects pr on pr.id = i.project_id and pr.owner_id = ${ownerId}
        where i.project_id = ${project}::bigint and i.id = ${invite}::bigint))
      and (${participant}::bigint is null or exists (
        select 1 from participants where id = ${participant}::bigint and owner_id = ${ownerId}))
      as ok`.execute(db);
  return rows[0]?.ok ?? false;
}
