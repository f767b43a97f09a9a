import { sql } from 'kysely';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { appendEvent, appendEvents } from '../src/db/ledger.js';
import {
  createLedgerListener,
  watchProject,
  type LedgerListener,
  type Wake,
} from '../src/db/notify.js';
import { transact } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { useTestDatabase } from './helpers/db.js';
import { rawEvent, rawEvents } from './helpers/events.js';

const db = useTestDatabase();
const log = createLogger('silent');
let projectA: string;
let projectB: string;
const listeners: LedgerListener[] = [];

async function projectId(slug: string) {
  await seedToken(db.db, { email: 'owner@example.test', projectSlug: slug, label: 'x' });
  const { rows } = await sql<{ id: string }>`
    select id from projects where slug = ${slug}`.execute(db.db);
  return rows[0]?.id as string;
}

beforeAll(async () => {
  projectA = await projectId('alpha');
  projectB = await projectId('beta');
});

afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

async function started() {
  const listener = createLedgerListener({ url: db.url, log, minDelayMs: 10, maxDelayMs: 100 });
  listeners.push(listener);
  await listener.start();
  return listener;
}

const append = (project: string, type = 'note') =>
  transact(db.db, (trx) => appendEvent(trx, project, rawEvent({ type, actor: 'owner/x' })));

/** Collects wakes for a project. */
function record(listener: LedgerListener, project: string) {
  const wakes: Wake[] = [];
  const stop = listener.subscribe(project, (w) => wakes.push(w));
  return { wakes, stop };
}

describe('ledger listener', () => {
  it('wakes the subscribers of a project when its event commits, and only then', async () => {
    const listener = await started();
    const a = record(listener, projectA);
    const b = record(listener, projectB);

    // A rolled-back append notifies nobody; the next committed one does, with its seq.
    await transact(db.db, async (trx) => {
      await appendEvent(trx, projectA, rawEvent({ type: 'note', actor: 'owner/x' }));
      throw new Error('roll back');
    }).catch(() => {});
    const committed = await append(projectA);
    await vi.waitFor(() => expect(a.wakes).toHaveLength(1));
    expect(a.wakes[0]).toEqual({ kind: 'event', projectId: projectA, seq: committed.seq });
    expect(b.wakes).toEqual([]);

    // Unsubscribed means no more calls.
    a.stop();
    const other = await append(projectB);
    await append(projectA);
    await vi.waitFor(() => expect(b.wakes).toHaveLength(1));
    expect(b.wakes[0]).toEqual({ kind: 'event', projectId: projectB, seq: other.seq });
    expect(a.wakes).toHaveLength(1);
    expect(listener.subscriberCount()).toBe(1);
  });

  it('a batch append takes consecutive seqs and notifies once, with the last', async () => {
    const listener = await started();
    const a = record(listener, projectA);
    const before = await append(projectA);
    await vi.waitFor(() => expect(a.wakes).toHaveLength(1));
    const batch = await transact(db.db, (trx) =>
      appendEvents(
        trx,
        projectA,
        rawEvents([
          { type: 'ack', actor: 'owner/x', postId: '7' },
          { type: 'ack', actor: 'owner/x', postId: '8', ref: 'PR#1' },
          { type: 'ack', actor: 'owner/x', postId: '9', data: { n: 3 } },
        ]),
      ),
    );
    expect(batch.map((e) => Number(e.seq))).toEqual([1, 2, 3].map((k) => Number(before.seq) + k));
    await vi.waitFor(() => expect(a.wakes).toHaveLength(2));
    expect(a.wakes[1]).toEqual({ kind: 'event', projectId: projectA, seq: batch[2]?.seq });
    const { rows } = await sql<{ post_id: string; ref: string | null; data: unknown }>`
      select post_id, ref, data from events
      where project_id = ${projectA} and seq > ${before.seq} order by seq`.execute(db.db);
    expect(rows).toEqual([
      { post_id: '7', ref: null, data: {} },
      { post_id: '8', ref: 'PR#1', data: {} },
      { post_id: '9', ref: null, data: { n: 3 } },
    ]);
  });

  it('reconnects after losing its connection, and tells subscribers to resync', async () => {
    const listener = await started();
    const a = record(listener, projectA);
    await sql`
      select pg_terminate_backend(pid) from pg_stat_activity
      where application_name = 'baton-listener' and datname = current_database()`.execute(db.db);
    await vi.waitFor(() => expect(a.wakes).toContainEqual({ kind: 'resync' }), {
      timeout: 10_000,
    });
    expect(listener.connected).toBe(true);
    const after = await append(projectA);
    await vi.waitFor(() =>
      expect(a.wakes).toContainEqual({ kind: 'event', projectId: projectA, seq: after.seq }),
    );
  });

  it('close tells every subscriber, and later subscribers at once', async () => {
    const listener = await started();
    const a = record(listener, projectA);
    await listener.close();
    expect(a.wakes).toEqual([{ kind: 'closed' }]);
    expect(listener.connected).toBe(false);
    const late: Wake[] = [];
    listener.subscribe(projectA, (w) => late.push(w));
    await vi.waitFor(() => expect(late).toEqual([{ kind: 'closed' }]));
  });
});

describe('watchProject', () => {
  it('counts a wake that came before next(), so nothing between read and wait is missed', async () => {
    const listener = await started();
    const watch = watchProject(listener, projectA);
    // A second subscriber shows when the notification has arrived (both hear it in one pass).
    const probe = record(listener, projectA);
    await append(projectA);
    await vi.waitFor(() => expect(probe.wakes).toHaveLength(1));
    probe.stop();
    expect(await watch.next(0)).toBe('woken');
    // Consumed: the next one times out.
    expect(await watch.next(50)).toBe('timeout');
    watch.close();
    expect(listener.subscriberCount(projectA)).toBe(0);
  });

  it('ends on an event, a timeout, an abort or a close', async () => {
    const listener = await started();
    const watch = watchProject(listener, projectA);
    const woken = watch.next(30_000);
    await append(projectA);
    expect(await woken).toBe('woken');

    expect(await watch.next(20)).toBe('timeout');

    const controller = new AbortController();
    const aborted = watch.next(30_000, controller.signal);
    controller.abort();
    expect(await aborted).toBe('aborted');

    const closing = watch.next(30_000);
    await listener.close();
    expect(await closing).toBe('closed');
    expect(await watch.next(30_000)).toBe('closed');
  });
});
