import { sql } from 'kysely';
import { advisoryXactLock } from './locks.js';
import type { Executor, Trx } from './pool.js';

/** Exclusive conflicts with any overlapping lease of another; shared only with exclusive. */
export type Mode = 'exclusive' | 'shared';

// Leases: live holds only (a release or a take-over deletes the row; the ledger keeps the
// history). Liveness is always judged by the database clock. See migrations/0003_claims_leases.sql
// for why grants are serialised by an advisory lock.

export interface LeaseRow {
  id: string;
  participation_id: string;
  actor: string;
  surface: string;
  mode: Mode;
  fencing_token: string;
  note: string | null;
  expires_at: Date;
  /** The TTL it was granted or last renewed with. */
  ttl_seconds: number;
  live: boolean;
  /** Seconds until expiry, rounded up; zero or less once expired. */
  expires_in: number;
}

/** What a write returns, for COLUMNS to be computed over in a select: the clock is read there,
 * since a distributed database refuses non-immutable functions in a write's RETURNING. */
const WRITTEN = sql`id, participation_id, actor, surface, mode, fencing_token, note, expires_at,
  ttl_seconds`;
const COLUMNS = sql`${WRITTEN}, expires_at > now() as live,
  ceil(extract(epoch from expires_at - now()))::integer as expires_in`;

/**
 * Grants in one project run one at a time, from this lock to commit. Take it before reading the
 * leases a grant is decided on: under READ COMMITTED the next statement then sees every grant
 * committed before ours, and no overlapping grant can commit until ours has.
 */
export async function lockLeaseGrants(trx: Trx, projectId: string): Promise<void> {
  await advisoryXactLock(trx, 'lease-grant', projectId);
}

/**
 * The leases a grant on this surface must weigh: every live one, the holder's own row on this
 * very surface (live or not: it is renewed or replaced), and the most recently expired others,
 * up to `expiredLimit` (older ones block nobody and wait for pruning; only their take-over
 * event is forgone). Live rows are bounded by the per-project cap, so the whole read is too.
 */
export async function leasesForGrant(
  trx: Trx,
  projectId: string,
  participationId: string,
  surface: { text: string; lane?: string },
  expiredLimit: number,
): Promise<LeaseRow[]> {
  const same =
    surface.lane !== undefined ? sql`surface = ${surface.text}` : sql`surface not like 'lane:%'`;
  const mine = sql`(participation_id = ${participationId} and surface = ${surface.text})`;
  const { rows } = await sql<LeaseRow>`
    (select ${COLUMNS} from leases
     where project_id = ${projectId} and (expires_at > now() or ${mine}) and ${same})
    union all
    (select ${COLUMNS} from leases
     where project_id = ${projectId} and expires_at <= now() and not ${mine} and ${same}
     order by expires_at desc
     limit ${expiredLimit})
    order by id`.execute(trx);
  return rows;
}

/** Live leases in the project, and those of one participation: what the caps are checked on. */
export async function liveLeaseCounts(
  trx: Trx,
  projectId: string,
  participationId: string,
): Promise<{ project: number; mine: number }> {
  const { rows } = await sql<{ project: number; mine: number }>`
    select count(*)::integer as project,
           (count(*) filter (where participation_id = ${participationId}))::integer as mine
    from leases where project_id = ${projectId} and expires_at > now()`.execute(trx);
  return rows[0] ?? { project: 0, mine: 0 };
}

type LiveLeaseFilter = {
  actor?: string;
  participationId?: string;
  excludeParticipationId?: string;
  limit?: number;
};

export async function liveLeases(
  db: Executor,
  projectId: string,
  opts: LiveLeaseFilter = {},
): Promise<LeaseRow[]> {
  const { rows } = await liveLeasesSql(projectId, opts).execute(db);
  return rows;
}

/** Live leases by surface, for statements that embed the query. */
export const liveLeasesSql = (projectId: string, opts: LiveLeaseFilter) => sql<LeaseRow>`
    select ${COLUMNS} from leases
    where project_id = ${projectId} and expires_at > now()
      ${opts.actor !== undefined ? sql`and actor = ${opts.actor}` : sql``}
      ${opts.participationId !== undefined ? sql`and participation_id = ${opts.participationId}` : sql``}
      ${opts.excludeParticipationId !== undefined ? sql`and participation_id <> ${opts.excludeParticipationId}` : sql``}
    order by surface, id
    ${opts.limit !== undefined ? sql`limit ${opts.limit}` : sql``}`;

/** The next fencing token of the project, from its counter row (locked until commit). */
export async function nextFencingToken(trx: Trx, projectId: string): Promise<string> {
  const { rows } = await sql<{ last_token: string }>`
    insert into lease_fencing as f (project_id, last_token) values (${projectId}, 1)
    on conflict (project_id) do update set last_token = f.last_token + 1
    returning last_token`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('fencing counter returned no row');
  return row.last_token;
}

export async function insertLease(
  trx: Trx,
  projectId: string,
  l: {
    participationId: string;
    actor: string;
    surface: string;
    mode: Mode;
    fencingToken: string;
    note: string | null;
    ttlSeconds: number;
  },
): Promise<LeaseRow> {
  const { rows } = await sql<LeaseRow>`
    with l as (
      insert into leases (project_id, participation_id, actor, surface, mode, fencing_token, note,
                          expires_at, ttl_seconds)
      values (${projectId}, ${l.participationId}, ${l.actor}, ${l.surface}, ${l.mode},
              ${l.fencingToken}, ${l.note}, now() + make_interval(secs => ${l.ttlSeconds}),
              ${l.ttlSeconds})
      returning ${WRITTEN}
    )
    select ${COLUMNS} from l`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('lease insert returned no row');
  return row;
}

/** Extends a live lease in place: same id, same fencing token. Undefined if it is gone. */
export async function renewLease(
  trx: Trx,
  projectId: string,
  id: string,
  r: { mode: Mode; note: string | null; ttlSeconds: number },
): Promise<LeaseRow | undefined> {
  const { rows } = await sql<LeaseRow>`
    with l as (
      update leases set mode = ${r.mode}, note = coalesce(${r.note}, note),
        expires_at = now() + make_interval(secs => ${r.ttlSeconds}), ttl_seconds = ${r.ttlSeconds}
      where project_id = ${projectId} and id = ${id}
      returning ${WRITTEN}
    )
    select ${COLUMNS} from l`.execute(trx);
  return rows[0];
}

/** Deletes leases and returns the ones this call removed (a concurrent release may win some). */
export async function deleteLeases(
  trx: Trx,
  projectId: string,
  ids: readonly string[],
): Promise<LeaseRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<LeaseRow>`
    with l as (
      delete from leases where project_id = ${projectId} and id = any(${ids}::bigint[])
      returning ${WRITTEN}
    )
    select ${COLUMNS} from l`.execute(trx);
  return rows;
}

/** The leases a release names, locked so a concurrent grant or release waits. */
export async function leasesToRelease(
  trx: Trx,
  projectId: string,
  by: { id: number } | { surface: string },
): Promise<LeaseRow[]> {
  const { rows } = await sql<LeaseRow>`
    select ${COLUMNS} from leases
    where project_id = ${projectId}
      and ${'id' in by ? sql`id = ${String(by.id)}` : sql`surface = ${by.surface}`}
    order by id
    for update`.execute(trx);
  return rows;
}

/** A lease by its id, whoever holds it, live or not (`lease(lease_id)` names the one it renews). */
export async function leaseById(
  db: Executor,
  projectId: string,
  id: string,
): Promise<LeaseRow | undefined> {
  const { rows } = await sql<LeaseRow>`
    select ${COLUMNS} from leases where project_id = ${projectId} and id = ${id}`.execute(db);
  return rows[0];
}
