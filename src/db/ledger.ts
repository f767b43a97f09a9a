import { sql } from 'kysely';
import type { Trx } from './pool.js';

// Appending to the ledger. See migrations/0002_ledger.sql for why seq comes from a locked
// per-project counter row rather than a SEQUENCE. Call this as the last statement of a
// transaction: the head row stays locked until commit, and every other writer of the project
// waits behind it.
//
// Each append also queues pg_notify on EVENTS_CHANNEL with '<project_id>:<seq>'. PostgreSQL
// delivers a notification only when its transaction commits (and never after a rollback), so a
// reader it wakes always finds the event committed. src/db/notify.ts listens for them.

export const EVENTS_CHANNEL = 'baton_events';

export interface NewEvent {
  type: string;
  actor: string;
  participationId?: string | null;
  taskId?: string | null;
  postId?: string | null;
  leaseId?: string | null;
  sequence?: string | null;
  ref?: string | null;
  tag?: string | null;
  data?: Record<string, unknown>;
}

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
    with head as (
      insert into ledger_heads as h (project_id, last_seq) values (${projectId}, 1)
      on conflict (project_id) do update set last_seq = h.last_seq + 1
      returning last_seq
    ), ev as (
      insert into events (project_id, seq, type, actor, participation_id, task_id, post_id,
                          lease_id, sequence, ref, tag, data)
      select ${projectId}, head.last_seq, ${e.type}, ${e.actor}, ${e.participationId ?? null},
             ${e.taskId ?? null}, ${e.postId ?? null}, ${e.leaseId ?? null}, ${e.sequence ?? null},
             ${e.ref ?? null}, ${e.tag ?? null}, ${JSON.stringify(e.data ?? {})}::jsonb
      from head
      returning project_id, seq, at
    )
    select seq, at, pg_notify(${EVENTS_CHANNEL}, project_id::text || ':' || seq::text) as notified
    from ev`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('ledger append returned no row');
  return { seq: row.seq, at: row.at };
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
  const { rows } = await sql<AppendedEvent>`
    with head as (
      insert into ledger_heads as h (project_id, last_seq) values (${projectId}, ${n})
      on conflict (project_id) do update set last_seq = h.last_seq + ${n}
      returning last_seq
    ), ev as (
      insert into events (project_id, seq, type, actor, participation_id, task_id, post_id,
                          lease_id, sequence, ref, tag, data)
      select ${projectId}, head.last_seq - ${n} + e.ord, e.v->>'type', e.v->>'actor',
             (e.v->>'participation_id')::bigint, (e.v->>'task_id')::bigint,
             (e.v->>'post_id')::bigint, (e.v->>'lease_id')::bigint, e.v->>'sequence',
             e.v->>'ref', e.v->>'tag', e.v->'data'
      from head, jsonb_array_elements(${payload}::jsonb) with ordinality as e(v, ord)
      returning project_id, seq, at
    ), last as (
      select pg_notify(${EVENTS_CHANNEL}, max(project_id)::text || ':' || max(seq)::text) from ev
    )
    select seq, at from ev, last order by seq`.execute(trx);
  if (rows.length !== n) throw new Error('ledger batch append returned too few rows');
  return rows;
}
