import { sql } from 'kysely';
import type { Executor, Trx } from './pool.js';

// The ledger of one project as portable rows: what `baton export` writes as JSON lines and
// `baton import` reads back. Internal ids of participations do not travel; actor names do.

export interface PortableEvent {
  seq: number;
  type: string;
  actor: string;
  at: string;
  task_id: number | null;
  post_id: number | null;
  lease_id: number | null;
  sequence: string | null;
  ref: string | null;
  tag: string | null;
  data: Record<string, unknown>;
}

const num = (v: string | null) => (v === null ? null : Number(v));

/** Streams the project's events in seq order, a page at a time. */
export async function* projectEvents(
  db: Executor,
  projectId: string,
  pageSize = 1000,
): AsyncGenerator<PortableEvent> {
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom('events')
      .select([
        'seq',
        'type',
        'actor',
        'at',
        'task_id',
        'post_id',
        'lease_id',
        'sequence',
        'ref',
        'tag',
        'data',
      ])
      .where('project_id', '=', projectId)
      .where('seq', '>', String(after))
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const r of rows) {
      yield {
        seq: Number(r.seq),
        type: r.type,
        actor: r.actor,
        at: (r.at as unknown as Date).toISOString(),
        task_id: num(r.task_id),
        post_id: num(r.post_id),
        lease_id: num(r.lease_id),
        sequence: r.sequence,
        ref: r.ref,
        tag: r.tag,
        data: r.data,
      };
    }
    if (rows.length < pageSize) return;
    after = Number(rows[rows.length - 1]?.seq);
  }
}

export async function projectHasEvents(db: Executor, projectId: string): Promise<boolean> {
  const row = await db
    .selectFrom('events')
    .select('seq')
    .where('project_id', '=', projectId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Inserts imported events verbatim and moves the ledger head to the last seq. */
export async function insertEvents(trx: Trx, projectId: string, events: PortableEvent[]) {
  if (events.length === 0) return;
  await trx
    .insertInto('events')
    .values(
      events.map((e) => ({
        project_id: projectId,
        seq: String(e.seq),
        type: e.type,
        actor: e.actor,
        participation_id: null,
        at: new Date(e.at),
        task_id: e.task_id === null ? null : String(e.task_id),
        post_id: e.post_id === null ? null : String(e.post_id),
        lease_id: e.lease_id === null ? null : String(e.lease_id),
        sequence: e.sequence,
        ref: e.ref,
        tag: e.tag,
        data: JSON.stringify(e.data) as unknown as Record<string, unknown>,
      })),
    )
    .execute();
  const last = events[events.length - 1]?.seq ?? 0;
  await sql`insert into ledger_heads as h (project_id, last_seq) values (${projectId}, ${last})
    on conflict (project_id) do update set last_seq = greatest(h.last_seq, excluded.last_seq)`.execute(
    trx,
  );
}

/** Projects with this slug, with their owners, for naming one unambiguously. */
export async function projectsBySlug(db: Executor, slug: string) {
  return db
    .selectFrom('projects')
    .innerJoin('owners', 'owners.id', 'projects.owner_id')
    .select(['projects.id', 'projects.slug', 'owners.handle', 'owners.email'])
    .where('projects.slug', '=', slug)
    .execute();
}

/** Removes the project's events up to and including `throughSeq` (after they were exported). */
export async function trimEvents(
  db: Executor,
  projectId: string,
  throughSeq: number,
): Promise<number> {
  const r = await db
    .deleteFrom('events')
    .where('project_id', '=', projectId)
    .where('seq', '<=', String(throughSeq))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
