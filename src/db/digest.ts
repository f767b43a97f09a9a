import { sql, type RawBuilder } from 'kysely';
import { latestClaimsQuery } from './claims.js';
import { liveLeasesSql } from './leases.js';
import type { Executor } from './pool.js';
import { latestUnackedSql, unackedCount } from './posts.js';
import { myOpenTasksQuery } from './status.js';

// The whats_new digest (spec §7): my unacked posts, my live leases, my unfinished tasks and the
// latest claims, read as columns of one statement. Each part comes back as a JSON array of its
// rows (numbers as JSON numbers, times as PostgreSQL's ISO text); src/tools/digest.ts shapes them.

const SHOWN_UNACKED = 5;
const SHOWN = 10;
const SHOWN_CLAIMS = 5;

export interface DigestRow {
  unacked_count: number;
  unacked: {
    id: number;
    sender_actor: string;
    subject: string | null;
    excerpt: string;
    ref: string | null;
    tag: string | null;
    created_at: string;
  }[];
  leases: { id: number; surface: string; mode: string; expires_at: string }[];
  tasks: { id: number; title: string; status: string; lane: string | null }[];
  claims: { sequence: string; formatted: string; actor: string; at: string }[];
}

/** A subquery's rows as one JSON array, in the subquery's order. */
const rowsOf = (q: RawBuilder<unknown> | { toOperationNode(): unknown }) =>
  sql`(select coalesce(json_agg(r), '[]'::json) from (${q}) r)`;

/** The digest as select-list items, for a statement that embeds it. */
export function digestColumns(db: Executor, projectId: string, me: string): RawBuilder<unknown> {
  return sql`(${unackedCount(projectId, me)}) as unacked_count,
    ${rowsOf(latestUnackedSql(projectId, me, SHOWN_UNACKED))} as unacked,
    ${rowsOf(liveLeasesSql(projectId, { participationId: me, limit: SHOWN }))} as leases,
    ${rowsOf(myOpenTasksQuery(db, projectId, me, SHOWN))} as tasks,
    ${rowsOf(latestClaimsQuery(db, projectId, { limit: SHOWN_CLAIMS }))} as claims`;
}
