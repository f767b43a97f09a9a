import { sql, type RawBuilder } from 'kysely';
import { digestColumns, type DigestRow } from './digest.js';
import type { Executor, Trx } from './pool.js';
import { statement } from './statement.js';

// Reading the ledger: filtered queries newest first (query_events), and named cursors that hand
// out every event exactly once, oldest first (whats_new). Appending lives in ledger.ts.

export interface EventRow {
  seq: string;
  type: string;
  actor: string;
  at: Date;
  task_id: string | null;
  post_id: string | null;
  lease_id: string | null;
  sequence: string | null;
  ref: string | null;
  tag: string | null;
  data: Record<string, unknown>;
}

const COLUMNS = sql`seq, type, actor, at, task_id, post_id, lease_id, sequence, ref, tag, data`;

/**
 * The same for whats_new's page, read as JSON: `at` already as the text a result shows
 * (Date.toISOString()'s form, milliseconds, UTC), so the page goes from PostgreSQL's JSON to the
 * result without a Date in between.
 */
const JSON_COLUMNS = sql`seq, type, actor,
  to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at,
  task_id, post_id, lease_id, sequence, ref, tag, data`;

export interface EventFilter {
  type?: string;
  actor?: string;
  sequence?: string;
  ref?: string;
  tag?: string;
  taskId?: number;
  /** at >= since */
  since?: Date;
  /** at < until */
  until?: Date;
  afterSeq?: number;
  /** Exclusive; the page cursor and before_seq both land here. */
  beforeSeq?: number;
  limit: number;
}

/** Exact-match filters, newest first. Each filter column has an index leading (project_id, col). */
export async function queryEvents(
  db: Executor,
  projectId: string,
  f: EventFilter,
): Promise<EventRow[]> {
  const where: RawBuilder<unknown>[] = [sql`project_id = ${projectId}`];
  if (f.type !== undefined) where.push(sql`type = ${f.type}`);
  if (f.actor !== undefined) where.push(sql`actor = ${f.actor}`);
  if (f.sequence !== undefined) where.push(sql`sequence = ${f.sequence}`);
  if (f.ref !== undefined) where.push(sql`ref = ${f.ref}`);
  if (f.tag !== undefined) where.push(sql`tag = ${f.tag}`);
  if (f.taskId !== undefined) where.push(sql`task_id = ${f.taskId}`);
  if (f.since !== undefined) where.push(sql`at >= ${f.since}`);
  if (f.until !== undefined) where.push(sql`at < ${f.until}`);
  if (f.afterSeq !== undefined) where.push(sql`seq > ${f.afterSeq}`);
  if (f.beforeSeq !== undefined) where.push(sql`seq < ${f.beforeSeq}`);
  const { rows } = await sql<EventRow>`
    select ${COLUMNS} from events
    where ${sql.join(where, sql` and `)}
    order by seq desc
    limit ${f.limit}`.execute(db);
  return rows;
}

/**
 * A cursor's position, locked until commit: two calls on the same cursor at once take turns, so
 * the second starts where the first left off and no event is handed out twice.
 */
export async function lockCursor(
  trx: Trx,
  projectId: string,
  me: string,
  name: string,
): Promise<string | undefined> {
  const { rows } = await sql<{ last_seq: string }>`
    select last_seq from cursors
    where project_id = ${projectId} and participation_id = ${me} and name = ${name}
    for no key update`.execute(trx);
  return rows[0]?.last_seq;
}

/** Creates a cursor at the beginning of the ledger; a concurrent creation wins harmlessly. */
export async function createCursor(trx: Trx, projectId: string, me: string, name: string) {
  await sql`
    insert into cursors (project_id, participation_id, name) values (${projectId}, ${me}, ${name})
    on conflict do nothing`.execute(trx);
}

export async function countCursors(db: Executor, projectId: string, me: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from cursors
    where project_id = ${projectId} and participation_id = ${me}`.execute(db);
  return rows[0]?.n ?? 0;
}

/** An event as whats_new reads it: one JSON object per row (ids as numbers, `at` ISO text). */
export type EventJson = Omit<EventRow, 'seq' | 'at' | 'task_id' | 'post_id' | 'lease_id'> & {
  seq: number;
  at: string;
  task_id: number | null;
  post_id: number | null;
  lease_id: number | null;
};

export interface WhatsNewRead extends DigestRow {
  /** False when the cursor does not exist yet: then nothing was written. */
  found: boolean;
  /** Where the cursor stood (0 for a cursor that does not exist). */
  from_seq: string;
  /** Up to `limit` events after it, oldest first. */
  events: EventJson[];
  /** More events wait beyond these. */
  more: boolean;
}

/**
 * whats_new on an existing cursor in one statement (one round trip, no BEGIN/COMMIT): the
 * cursor (locked when advancing, so two calls on one cursor take turns and hand out no event
 * twice), the page of events after it, the cursor moved to the last of them, and the digest,
 * all from one snapshot. A moved cursor is a read position, so that commit does not wait for its
 * WAL flush: after a database crash the reader may see a few events again, never miss one (the
 * events were committed durably by their writers).
 *
 * A call that waited for another on the same cursor reads with the snapshot it started with, so
 * it may return fewer events than have committed by then; the next call returns them.
 */
export async function readWhatsNew(
  db: Executor,
  projectId: string,
  me: string,
  name: string,
  opts: { advance: boolean; limit: number },
): Promise<WhatsNewRead> {
  const rows = await (opts.advance ? WHATS_NEW_ADVANCE : WHATS_NEW_PEEK).run(db, {
    projectId,
    me,
    name,
    limit: opts.limit,
    limitAndOne: opts.limit + 1,
  });
  const row = rows[0];
  if (!row) throw new Error('whats_new returned no row');
  return row;
}

interface WhatsNewParams extends Record<string, unknown> {
  projectId: string;
  me: string;
  name: string;
  limit: number;
  limitAndOne: number;
}

const whatsNewStatement = (advance: boolean) =>
  statement<WhatsNewParams, WhatsNewRead>(
    (p, db) => sql`
    with cur as (
      select last_seq from cursors
      where project_id = ${p.projectId} and participation_id = ${p.me} and name = ${p.name}
      ${advance ? sql`for no key update` : sql``}
    ), evs as (
      select ${JSON_COLUMNS} from events
      where project_id = ${p.projectId} and seq > coalesce((select last_seq from cur), 0)
      order by seq
      limit ${p.limitAndOne}
    ), shown as (
      select * from evs order by seq limit ${p.limit}
    )${
      advance
        ? sql`, moved as (
      update cursors set last_seq = (select max(seq) from shown), updated_at = now()
      where project_id = ${p.projectId} and participation_id = ${p.me} and name = ${p.name}
        and exists (select 1 from shown)
    )`
        : sql``
    }
    select exists (select 1 from cur) as found,
           coalesce((select last_seq from cur), 0) as from_seq,
           (select count(*) from evs) > ${p.limit} as more,
           (select coalesce(json_agg(e order by e.seq), '[]'::json) from shown e) as events,
           ${digestColumns(db, p.projectId, p.me)}
    ${
      // Set by a select, not in the update's RETURNING, where a distributed database refuses a
      // volatile function; transaction-local, so it concerns this statement's commit only.
      advance
        ? sql`from (select set_config('synchronous_commit', 'off', true)) as async_commit`
        : sql``
    }`,
  );

const WHATS_NEW_ADVANCE = whatsNewStatement(true);
const WHATS_NEW_PEEK = whatsNewStatement(false);
