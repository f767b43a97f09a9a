import { sql } from 'kysely';
import type { Trx } from './pool.js';

// Appending to the ledger. See migrations/0002_ledger.sql for why seq comes from a locked
// per-project counter row rather than a SEQUENCE. Call this as the last statement of a
// transaction: the head row stays locked until commit, and every other writer of the project
// waits behind it.

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
    )
    insert into events (project_id, seq, type, actor, participation_id, task_id, post_id,
                        lease_id, sequence, ref, tag, data)
    select ${projectId}, head.last_seq, ${e.type}, ${e.actor}, ${e.participationId ?? null},
           ${e.taskId ?? null}, ${e.postId ?? null}, ${e.leaseId ?? null}, ${e.sequence ?? null},
           ${e.ref ?? null}, ${e.tag ?? null}, ${JSON.stringify(e.data ?? {})}::jsonb
    from head
    returning seq, at`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('ledger append returned no row');
  return row;
}
