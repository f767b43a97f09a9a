import { sql } from 'kysely';
import { ACCESS_CHANNEL } from './ledger.js';
import { advisoryXactLock } from './locks.js';
import { transact, type Db, type Executor, type Trx } from './pool.js';

// MCP sessions: one small row each, bound to the participation that opened it. Processes keep
// the sessions they saw open with the identity (src/http/identity-memory.ts), so a statement that
// ends sessions also notifies ACCESS_CHANNEL, in the same statement, when it ended any (once:
// PostgreSQL folds a transaction's identical notifications into one).

/**
 * Open sessions one identity (participation, whichever of its tokens) may hold: a client that
 * initializes in a loop must not grow the table without end. Past it, the least recently used
 * are ended.
 */
export const MAX_SESSIONS_PER_PARTICIPATION = 100;

/**
 * Opens a session and, in the same transaction, ends the participation's open sessions beyond
 * the newest MAX_SESSIONS_PER_PARTICIPATION; returns the ids it ended. Openings of one
 * participation take turns (a transaction-scoped advisory lock), so many clients initializing at
 * once never end each other's rows in crossing orders (a deadlock) and the count holds exactly.
 */
export async function openSessionWithinLimit(
  db: Db,
  s: {
    projectId: string;
    id: string;
    participationId: string;
    protocolVersion: string;
    clientName: string | null;
  },
): Promise<string[]> {
  return transact(db, async (trx) => {
    await advisoryXactLock(trx, 'mcp-sessions', s.participationId);
    await trx
      .insertInto('mcp_sessions')
      .values({
        project_id: s.projectId,
        id: s.id,
        participation_id: s.participationId,
        protocol_version: s.protocolVersion,
        client_name: s.clientName,
      })
      .execute();
    return endSessionsBeyondLimit(trx, s.projectId, s.participationId);
  });
}

/**
 * Ends the participation's open sessions beyond the newest MAX_SESSIONS_PER_PARTICIPATION, least
 * recently used first (last use is kept coarsely, so creation breaks ties); returns their ids.
 */
async function endSessionsBeyondLimit(
  db: Executor,
  projectId: string,
  participationId: string,
): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    with ended as (
      update mcp_sessions s set closed_at = now()
      from (
        select id from mcp_sessions
        where project_id = ${projectId} and participation_id = ${participationId}
          and closed_at is null
        order by last_seen_at desc, created_at desc, id
        offset ${MAX_SESSIONS_PER_PARTICIPATION}
      ) old
      where s.project_id = ${projectId} and s.id = old.id and s.closed_at is null
      returning s.id
    )
    select id, pg_notify(${ACCESS_CHANNEL}, ${projectId}::text) from ended`.execute(db);
  return rows.map((r) => r.id);
}

/** Ends a session; only the participation that opened it can end it. */
export async function closeSession(
  db: Executor,
  projectId: string,
  participationId: string,
  id: string,
) {
  const { rows } = await sql<{ id: string }>`
    with ended as (
      update mcp_sessions set closed_at = now()
      where project_id = ${projectId} and id = ${id} and participation_id = ${participationId}
        and closed_at is null
      returning id
    )
    select id, pg_notify(${ACCESS_CHANNEL}, ${projectId}::text) from ended`.execute(db);
  return rows.length > 0;
}

/**
 * Ends a participation's open sessions as part of its revocation. The one statement here that
 * does not notify: the revocation appends `tokens_revoked`, which notifies at the same commit.
 */
export async function closeSessionsOf(trx: Trx, projectId: string, participationId: string) {
  await trx
    .updateTable('mcp_sessions')
    .set({ closed_at: sql`now()` })
    .where('project_id', '=', projectId)
    .where('participation_id', '=', participationId)
    .where('closed_at', 'is', null)
    .execute();
}

/** Marks a session as used; callers debounce (sessions idle for days are pruned). */
export async function touchSession(db: Executor, projectId: string, id: string) {
  await db
    .updateTable('mcp_sessions')
    .set({ last_seen_at: sql`now()` })
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .execute();
}

/** Sessions not yet ended, across every process sharing the database (a metrics gauge). */
export async function countOpenSessions(db: Executor): Promise<number> {
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::int as n from mcp_sessions where closed_at is null`.execute(db);
  return rows[0]?.n ?? 0;
}
