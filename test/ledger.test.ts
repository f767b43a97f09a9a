import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { appendEvent, appendEvents } from '../src/db/ledger.js';
import { openStorage, transact, type Storage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { useTestDatabase } from './helpers/db.js';
import { rawEvent, rawEvents } from './helpers/events.js';

const t = useTestDatabase();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function projectId(slug: string): Promise<string> {
  await seedToken(t.db, { email: 'ledger@example.test', projectSlug: slug, label: 'writer' });
  const row = await t.db
    .selectFrom('projects')
    .select('id')
    .where('slug', '=', slug)
    .executeTakeFirstOrThrow();
  return row.id;
}

async function seqs(project: string, after = 0): Promise<number[]> {
  const { rows } = await sql<{
    seq: string;
  }>`select seq from events where project_id = ${project} and seq > ${after} order by seq`.execute(
    t.db,
  );
  return rows.map((r) => Number(r.seq));
}

/** One pool of one connection per writer: every writer is its own PostgreSQL session. */
function writers(n: number): Storage[] {
  return Array.from({ length: n }, () =>
    openStorage({ url: t.url, max: 1, log: createLogger('silent') }),
  );
}

describe('ledger seq', () => {
  it('makes a later allocator wait for the earlier commit, so seq order is commit order', async () => {
    const project = await projectId('ordering');
    const base = (await seqs(project)).length;
    const [a, b] = writers(2) as [Storage, Storage];
    try {
      let releaseA!: () => void;
      const aHolding = new Promise<void>((r) => (releaseA = r));
      let aSeq = 0;
      const first = transact(a.db, async (trx) => {
        aSeq = Number(
          (await appendEvent(trx, project, rawEvent({ type: 'test', actor: 'a' }))).seq,
        );
        await aHolding; // allocated, not yet committed
      });
      while (aSeq === 0) await sleep(5);
      let bSeq = 0;
      const second = transact(b.db, async (trx) => {
        bSeq = Number(
          (await appendEvent(trx, project, rawEvent({ type: 'test', actor: 'b' }))).seq,
        );
      });
      // b is blocked on a's head row lock: it has no number and nothing new is visible.
      await sleep(200);
      expect(bSeq).toBe(0);
      expect(await seqs(project, base)).toEqual([]);
      releaseA();
      await Promise.all([first, second]);
      expect([aSeq, bSeq]).toEqual([base + 1, base + 2]);
      expect(await seqs(project, base)).toEqual([base + 1, base + 2]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('returns a rolled-back number to the next writer: no hole', async () => {
    const project = await projectId('rollback');
    const before = (await seqs(project)).length;
    await transact(t.db, async (trx) => {
      await appendEvent(trx, project, rawEvent({ type: 'test', actor: 'a' }));
      throw new Error('fail after allocation');
    }).catch(() => {});
    await transact(t.db, (trx) =>
      appendEvent(trx, project, rawEvent({ type: 'test', actor: 'b' })),
    );
    expect(await seqs(project)).toEqual(Array.from({ length: before + 1 }, (_, i) => i + 1));
  });

  it('stays 1..N with no holes under 20 interleaving writers, and a poller never misses an event', async () => {
    const project = await projectId('stress');
    const start = (await seqs(project)).length;
    const pool = writers(20);
    const perWriter = 15;
    let committed = 0;
    let done = false;
    const seen: number[] = [];

    // The reader polls `seq > last` the way a cursor does and checks each page is contiguous.
    const reader = (async () => {
      let last = start;
      while (!done || last < start + committed) {
        const page = await seqs(project, last);
        page.forEach((s, i) => expect(s).toBe(last + i + 1));
        seen.push(...page);
        if (page.length) last = page[page.length - 1] as number;
        await sleep(2);
      }
    })();

    try {
      await Promise.all(
        pool.map(async (w, wi) => {
          for (let i = 0; i < perWriter; i++) {
            const rollback = (wi + i) % 7 === 3;
            await transact(w.db, async (trx) => {
              await sleep(Math.random() * 4); // work before the append
              await appendEvent(
                trx,
                project,
                rawEvent({ type: 'test', actor: `w${wi}`, data: { i } }),
              );
              await sleep(Math.random() * 4); // hold the allocation before committing
              if (rollback) throw new Error('forced rollback');
            }).then(
              () => committed++,
              () => {},
            );
          }
        }),
      );
    } finally {
      done = true;
      await reader;
      await Promise.all(pool.map((w) => w.close()));
    }
    const all = await seqs(project);
    expect(all).toEqual(Array.from({ length: start + committed }, (_, i) => i + 1));
    expect(seen).toEqual(Array.from({ length: committed }, (_, i) => start + i + 1));
    expect(committed).toBeLessThan(20 * perWriter); // some really did roll back
  });

  it('appends several events in one statement with consecutive seqs, in the order given', async () => {
    const project = await projectId('batch');
    const before = (await seqs(project)).length;
    const appended = await transact(t.db, (trx) =>
      appendEvents(
        trx,
        project,
        rawEvents([
          { type: 'first', actor: 'a', ref: 'r-1', data: { n: 1 } },
          { type: 'second', actor: 'b', sequence: 'adr', tag: 'x' },
          { type: 'third', actor: 'c', data: { nested: { ok: true } } },
        ]),
      ),
    );
    expect(appended.map((e) => Number(e.seq))).toEqual([before + 1, before + 2, before + 3]);
    const { rows } = await sql<{
      seq: string;
      type: string;
      actor: string;
      ref: string | null;
      sequence: string | null;
      tag: string | null;
      data: unknown;
    }>`select seq, type, actor, ref, sequence, tag, data from events
       where project_id = ${project} and seq > ${before} order by seq`.execute(t.db);
    expect(rows.map((r) => [r.type, r.actor, r.ref, r.sequence, r.tag, r.data])).toEqual([
      ['first', 'a', 'r-1', null, null, { n: 1 }],
      ['second', 'b', null, 'adr', 'x', {}],
      ['third', 'c', null, null, null, { nested: { ok: true } }],
    ]);
  });
});
