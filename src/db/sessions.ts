import { sql } from 'kysely';
import type { Executor } from './pool.js';

// MCP sessions: one small row each, bound to the participation that opened it.

export async function insertSession(
  db: Executor,
  s: {
    projectId: string;
    id: string;
    participationId: string;
    protocolVersion: string;
    clientName: string | null;
  },
) {
  await db
    .insertInto('mcp_sessions')
    .values({
      project_id: s.projectId,
      id: s.id,
      participation_id: s.participationId,
      protocol_version: s.protocolVersion,
      client_name: s.clientName,
    })
    .execute();
}

/** Ends a session; only the participation that opened it can end it. */
export async function closeSession(
  db: Executor,
  projectId: string,
  participationId: string,
  id: string,
) {
  const r = await db
    .updateTable('mcp_sessions')
    .set({ closed_at: sql`now()` })
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .where('participation_id', '=', participationId)
    .where('closed_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
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
