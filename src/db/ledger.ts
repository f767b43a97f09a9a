import { CompiledQuery, sql, type RawBuilder } from 'kysely';
import { NOTIFY_SQL } from './clients.js';
import type { EventData, EventType } from './event-types.js';
import type { Executor, Trx } from './pool.js';

// Appending to the ledger. See migrations/0002_ledger.sql for why seq comes from a locked
// per-project counter row rather than a SEQUENCE. Call this as the last statement of a
// transaction: the head row stays locked until commit, and every other writer of the project
// waits behind it.
//
// Each append also notifies EVENTS_CHANNEL with '<project_id>:<seq>'. PostgreSQL delivers a
// notification only when its transaction commits (and never after a rollback), so a reader it
// wakes always finds the event committed. src/db/notify.ts listens for them.
//
// In a transaction the notification is a statement of its own (notifyAppended), not part of the
// append: a database distributed by project runs the append on the project's node, and the
// listener hears only the node it is connected to. It costs no round trip: the client holds it
// and sends it with the COMMIT. A write that is one statement on its own (a claim) selects it
// inside that statement instead (NOTIFY_APPENDED): a second statement cost the hottest path
// about 40% more time on the 2-core bench machine (docs/scaling.md lists it for a distributed
// deployment).

export const EVENTS_CHANNEL = 'baton_events';

/**
 * Notified with '<project_id>' when a commit changes who may act in a project, or as whom: what
 * authentication resolves a token or a session to. Each process keeps the identities it resolved
 * lately (src/http/identity-memory.ts) and forgets the project's on this notice.
 */
export const ACCESS_CHANNEL = 'baton_access';

/** Events whose commit changes what a token of the project resolves to (token, rights, names). */
const ACCESS_CHANGES: ReadonlySet<EventType> = new Set<EventType>([
  'tokens_revoked',
  'token_rotated',
  'participant_deleted',
  'participant_updated',
  'participant_provisioned',
  'participant_renamed',
  'project_renamed',
]);

function changesAccess(e: NewEvent): boolean {
  // A register moves its participant's lane (part of the identity) only when the lane changes.
  if (e.type === 'register') return e.data.lane !== e.data.previous_lane;
  return ACCESS_CHANGES.has(e.type);
}

/**
 * Tells every process, at commit, that access in the project changed: held like a ledger
 * wake-up and sent with the COMMIT (for changes that append no event: a deleted project).
 */
export async function notifyAccessChanged(trx: Trx, projectId: string): Promise<void> {
  await sendNotification(trx, ACCESS_CHANNEL, projectId);
}

/** What every event may carry besides its type and data: the ids of what it concerns. */
export interface EventBase {
  actor: string;
  participationId?: string | null;
  taskId?: string | null;
  postId?: string | null;
  leaseId?: string | null;
  sequence?: string | null;
  ref?: string | null;
  tag?: string | null;
}

/** An event to append: its type from the closed vocabulary, its data of that type's shape. */
export type NewEvent = {
  // Data may be left out only where every field of the type's shape is optional (an ack).
  [T in EventType]: EventBase & { type: T } & (Partial<EventData[T]> extends EventData[T]
      ? { data?: EventData[T] }
      : { data: EventData[T] });
}[EventType];

export interface AppendedEvent {
  seq: string;
  at: Date;
}

export async function appendEvent(
  trx: Trx,
  projectId: string,
  e: NewEvent,
): Promise<AppendedEvent> {
  const { rows } = await sql<AppendedEvent>`
    with source as (select 1 as one), ${appendCtes(projectId, 'source', sql`one`, {
      ...e,
      sequence: sql`${e.sequence ?? null}`,
      ref: sql`${e.ref ?? null}`,
      data: sql`${JSON.stringify(e.data ?? {})}::jsonb`,
    })}
    select seq, at from ev`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('ledger append returned no row');
  await notifyAppended(trx, projectId, row.seq);
  if (changesAccess(e)) await notifyAccessChanged(trx, projectId);
  return { seq: row.seq, at: row.at };
}

/** A value for appendCtes: a parameter, or SQL over the source's columns. */
type Value = string | null | RawBuilder<unknown>;

/**
 * Events as two CTEs, `head` and `ev`, for a write done in a single statement (atomic without
 * BEGIN/COMMIT, one round trip): one event per row of the CTE named `source`, with consecutive
 * seqs in the order of `order` (an expression over `source`'s columns). The head row is bumped
 * once, by the number of rows, and only after `source` has produced them: the lock order stays
 * the caller's rows first, the ledger head last. `sequence`, `ref` and `data` may read
 * `source`'s columns. The statement's final select must read `ev` and select NOTIFY_APPENDED.
 */
export function appendCtes(
  projectId: string,
  source: string,
  order: RawBuilder<unknown>,
  e: {
    /** A type of the vocabulary, or (a batch of typed NewEvents) SQL reading it from source. */
    type: EventType | RawBuilder<unknown>;
    actor: Value;
    participationId?: Value;
    taskId?: Value;
    postId?: Value;
    leaseId?: Value;
    sequence: Value;
    ref: Value;
    tag?: Value;
    data: RawBuilder<unknown>;
  },
): RawBuilder<unknown> {
  const from = sql.table(source);
  return sql`head as (
      insert into ledger_heads as h (project_id, last_seq)
      select ${projectId}, count(*) from ${from} having count(*) > 0
      on conflict (project_id) do update set last_seq = h.last_seq + excluded.last_seq
      returning last_seq
    ), ev as (
      insert into events (project_id, seq, type, actor, participation_id, task_id, post_id,
                          lease_id, sequence, ref, tag, data)
      select ${projectId}, head.last_seq - count(*) over () + row_number() over (order by ${order}),
             ${e.type}, ${e.actor}, ${e.participationId ?? null}, ${e.taskId ?? null},
             ${e.postId ?? null}, ${e.leaseId ?? null}, ${e.sequence}, ${e.ref}, ${e.tag ?? null},
             ${e.data}
      from head, ${from}
      returning project_id, seq, at
    )`;
}

/** The wake-up for readers of a transaction's appended events: held, and sent with the COMMIT. */
async function notifyAppended(trx: Trx, projectId: string, seq: string): Promise<void> {
  await sendNotification(trx, EVENTS_CHANNEL, `${projectId}:${seq}`);
}

/** The wake-up selected inside a single-statement write (appendCtes): one, for the last event. */
export const NOTIFY_APPENDED = sql`(select pg_notify(${EVENTS_CHANNEL}, max(ev.project_id)::text || ':' || max(ev.seq)::text) from ev)`;

export async function sendNotification(
  db: Executor,
  channel: string,
  payload: string,
): Promise<void> {
  await db.executeQuery(CompiledQuery.raw(NOTIFY_SQL, [channel, payload]));
}

/** Projects per ledgerHeads statement. */
const HEADS_BATCH = 1000;

/** The last seq of each of these projects that has a ledger (absent: none yet). */
export async function ledgerHeads(
  db: Executor,
  projectIds: readonly string[],
): Promise<Map<string, string>> {
  const heads = new Map<string, string>();
  for (let i = 0; i < projectIds.length; i += HEADS_BATCH) {
    const rows = await db
      .selectFrom('ledger_heads')
      .select(['project_id', 'last_seq'])
      .where('project_id', '=', sql<string>`any(${projectIds.slice(i, i + HEADS_BATCH)}::bigint[])`)
      .execute();
    for (const r of rows) heads.set(String(r.project_id), String(r.last_seq));
  }
  return heads;
}

/**
 * Several events in one statement (an ack of many posts), with consecutive seqs in the order
 * given. Same rules as appendEvent: last statement of the transaction.
 */
export async function appendEvents(
  trx: Trx,
  projectId: string,
  events: readonly NewEvent[],
): Promise<AppendedEvent[]> {
  if (events.length === 0) return [];
  const payload = JSON.stringify(
    events.map((e) => ({
      type: e.type,
      actor: e.actor,
      participation_id: e.participationId ?? null,
      task_id: e.taskId ?? null,
      post_id: e.postId ?? null,
      lease_id: e.leaseId ?? null,
      sequence: e.sequence ?? null,
      ref: e.ref ?? null,
      tag: e.tag ?? null,
      data: e.data ?? {},
    })),
  );
  const n = events.length;
  const field = (name: string) => sql`source.v->>${name}`;
  const id = (name: string) => sql`(source.v->>${name})::bigint`;
  const { rows } = await sql<AppendedEvent>`
    with source as (
      select e.v, e.ord from jsonb_array_elements(${payload}::jsonb) with ordinality as e(v, ord)
    ), ${appendCtes(projectId, 'source', sql`source.ord`, {
      type: field('type'),
      actor: field('actor'),
      participationId: id('participation_id'),
      taskId: id('task_id'),
      postId: id('post_id'),
      leaseId: id('lease_id'),
      sequence: field('sequence'),
      ref: field('ref'),
      tag: field('tag'),
      data: sql`source.v->'data'`,
    })}
    select seq, at from ev order by seq`.execute(trx);
  if (rows.length !== n) throw new Error('ledger batch append returned too few rows');
  await notifyAppended(trx, projectId, (rows.at(-1) as AppendedEvent).seq);
  if (events.some(changesAccess)) await notifyAccessChanged(trx, projectId);
  return rows;
}
