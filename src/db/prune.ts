import { sql } from 'kysely';
import { lockKey } from './locks.js';
import { transact, type Db } from './pool.js';

// Retention. Live state that has stopped meaning anything is removed; history is not: the ledger
// (events), claims, posts and tasks are never touched here. Each rule keeps a grace period, so
// nothing a client could still be looking at disappears under it.

export interface RetentionPolicy {
  /** Leases that expired longer ago than this are removed. */
  expiredLeaseHours: number;
  /** Participations not seen for this long lose their status line (lane and history stay). */
  presenceDays: number;
  /** Invites used up, revoked or expired longer ago than this are removed. */
  inviteDays: number;
  /** MCP sessions ended, or idle, longer ago than this are removed. */
  sessionDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  expiredLeaseHours: 24,
  presenceDays: 30,
  inviteDays: 7,
  sessionDays: 7,
};

export interface PruneCounts {
  expired_leases: number;
  presence: number;
  invites: number;
  sessions: number;
}

/**
 * One pass over every project, in one transaction. When several Baton processes run the
 * background job, a try-lock lets exactly one of them do a pass; the others skip it.
 */
export async function prune(
  db: Db,
  p: RetentionPolicy,
  opts: { dryRun?: boolean } = {},
): Promise<PruneCounts | undefined> {
  class DryRun extends Error {
    constructor(readonly counts: PruneCounts) {
      super('dry run');
    }
  }
  try {
    return await transact(db, async (trx) => {
      const { rows } = await sql<{
        got: boolean;
      }>`select pg_try_advisory_xact_lock(${lockKey('prune')}::bigint) as got`.execute(trx);
      if (!rows[0]?.got) return undefined;
      const count = async (q: ReturnType<typeof sql>) =>
        Number((await q.execute(trx)).numAffectedRows ?? 0);
      const counts: PruneCounts = {
        expired_leases: await count(
          sql`delete from leases where expires_at < now() - make_interval(hours => ${p.expiredLeaseHours})`,
        ),
        presence: await count(sql`update participations set status = null
          where status is not null and (last_seen_at is null or last_seen_at < now() - make_interval(days => ${p.presenceDays}))`),
        // Used-up invites keep no time of their last use; their creation time bounds it.
        invites: await count(sql`delete from invites
          where revoked_at < now() - make_interval(days => ${p.inviteDays})
             or expires_at < now() - make_interval(days => ${p.inviteDays})
             or (uses_left = 0 and created_at < now() - make_interval(days => ${p.inviteDays}))`),
        sessions: await count(sql`delete from mcp_sessions
          where closed_at < now() - make_interval(days => ${p.sessionDays})
             or last_seen_at < now() - make_interval(days => ${p.sessionDays})`),
      };
      if (opts.dryRun) throw new DryRun(counts);
      return counts;
    });
  } catch (err) {
    if (err instanceof DryRun) return err.counts;
    throw err;
  }
}

/** The optional background job of `baton serve` (BATON_PRUNE_INTERVAL_HOURS; 0 runs none). */
export function startPruneJob(
  db: Db,
  hours: number,
  log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void },
): () => void {
  if (hours <= 0) return () => {};
  const run = () =>
    prune(db, DEFAULT_RETENTION).then(
      (counts) => counts && log.info({ pruned: counts }, 'retention pass done'),
      (err: unknown) => log.warn({ err }, 'retention pass failed; will retry at the next interval'),
    );
  const timer = setInterval(run, hours * 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
