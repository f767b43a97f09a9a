import { sql } from 'kysely';
import pg from 'pg';
import { PROBE_CHANNEL } from '../src/db/hearing.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
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
import { pino } from 'pino';
import { createTestDatabase, useTestDatabase, type TestDatabase } from './helpers/db.js';
import { rawEvent, rawEvents } from './helpers/events.js';
import { tcpProxy } from './helpers/proxy.js';

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
  const listener = createLedgerListener({
    url: db.url,
    log,
    db: db.db,
    minDelayMs: 10,
    maxDelayMs: 100,
  });
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

describe('whether the listener hears', () => {
  /** A logger whose lines the test reads. */
  /** Counts the probes sent to a database (PROBE_CHANNEL), as a separate connection hears them. */
  const probesOn = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    let n = 0;
    client.on('notification', (m) => void (m.channel === PROBE_CHANNEL && n++));
    await client.query(`listen ${PROBE_CHANNEL}`);
    probeCounters.push(client);
    return () => n;
  };
  const probeCounters: pg.Client[] = [];
  afterAll(async () => {
    await Promise.all(probeCounters.map((c) => c.end()));
  });

  const capture = () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) },
    );
    return { lines, logger };
  };

  it('proves it at start, and keeps proving it', async () => {
    const { lines, logger } = capture();
    const listener = createLedgerListener({
      url: db.url,
      log: logger,
      db: db.db,
      probeIntervalMs: 20,
    });
    listeners.push(listener);
    expect(listener.hearing).toBe(false);
    expect(listener.problem).toMatch(/not started/);
    const probes = await probesOn(db.url);
    await listener.start();
    expect(listener.hearing).toBe(true);
    expect(listener.problem).toBeUndefined();
    // Probe after probe comes back (every 20 ms here).
    await vi.waitFor(() => expect(probes()).toBeGreaterThanOrEqual(5));
    expect(listener.hearing).toBe(true);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  describe('when it listens where the pool does not write', () => {
    // Notifications belong to one database. A listener on another one hears nothing the pool
    // sends, exactly as one whose LISTEN went through a transaction-mode pooler.
    let elsewhere: TestDatabase;
    beforeAll(async () => {
      elsewhere = await createTestDatabase();
    });
    afterAll(async () => {
      await Promise.all(listeners.splice(0).map((l) => l.close()));
      await elsewhere?.drop();
    });

    it('says it is deaf and why, once, and wakes waiters by polling the ledger', async () => {
      const { lines, logger } = capture();
      const listener = createLedgerListener({
        url: elsewhere.url,
        log: logger,
        db: db.db,
        probeIntervalMs: 20,
        probeTimeoutMs: 50,
        pollIntervalMs: 20,
      });
      listeners.push(listener);
      const changes: boolean[] = [];
      listener.onHearingChange((h) => changes.push(h));
      const probes = await probesOn(db.url);
      await listener.start();
      expect(listener.connected).toBe(true);
      expect(listener.hearing).toBe(false);
      expect(listener.problem).toMatch(/DATABASE_DIRECT_URL/);

      // A long-poll and a stream group are woken by the poll, not by a notification.
      const watch = watchProject(listener, projectA);
      const a = record(listener, projectA);
      await vi.waitFor(() => expect(a.wakes.length).toBeGreaterThan(0)); // the first poll
      a.wakes.splice(0);
      await watch.next(0);
      const waiting = watch.next(30_000);
      const appended = await append(projectA);
      expect(await waiting).toBe('woken');
      await vi.waitFor(() =>
        expect(a.wakes).toContainEqual({ kind: 'event', projectId: projectA, seq: appended.seq }),
      );
      watch.close();

      // Many probes later, one error line; no change was reported, it never heard.
      const sent = probes();
      await vi.waitFor(() => expect(probes()).toBeGreaterThanOrEqual(sent + 5));
      const errors = lines.filter((l) => l.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.msg).toMatch(/hears no notifications.*DATABASE_DIRECT_URL/);
      expect(changes).toEqual([]);
    });
  });

  it('stops hearing while its connection is away, polls meanwhile, and hears again after it', async () => {
    const target = new URL(db.url);
    const proxy = await tcpProxy({ host: target.hostname, port: Number(target.port) });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const listener = createLedgerListener({
      url: viaProxy.toString(),
      log,
      db: db.db,
      minDelayMs: 10,
      maxDelayMs: 50,
      pollIntervalMs: 20,
    });
    listeners.push(listener);
    const changes: boolean[] = [];
    listener.onHearingChange((h) => changes.push(h));
    await listener.start();
    const a = record(listener, projectA);
    try {
      proxy.block();
      await vi.waitFor(() => expect(listener.hearing).toBe(false));
      expect(listener.problem).toMatch(/lost its connection/);
      const during = await append(projectA);
      await vi.waitFor(() =>
        expect(a.wakes).toContainEqual({ kind: 'event', projectId: projectA, seq: during.seq }),
      );
      proxy.unblock();
      await vi.waitFor(() => expect(listener.hearing).toBe(true), { timeout: 10_000 });
      expect(changes).toEqual([true, false, true]);
    } finally {
      await listener.close();
      await proxy.close();
    }
  });
});
