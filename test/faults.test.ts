import net from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { openStorage, type Storage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { ownPostgres, type OwnPostgres } from './helpers/pg.js';
import { serveProcess, stopServeProcesses, type ServeProcess } from './helpers/process.js';

// What production does to a service: several Baton processes on one database, the database
// going away under load, a process killed mid-write, an exhausted pool, clients too slow to
// finish a request. Real processes (the built dist/) on a PostgreSQL of this file's own.

const log = createLogger('silent');
let pg: OwnPostgres;
let storage: Storage;
const batons: ServeProcess[] = [];

beforeAll(async () => {
  pg = await ownPostgres('baton-faults');
  storage = openStorage({ url: pg.url, max: 4, log });
});

afterAll(async () => {
  await stopServeProcesses();
  await storage?.close();
  await pg?.dispose();
});

async function spawnBaton(env: Record<string, string> = {}) {
  const b = await serveProcess(
    { DATABASE_URL: pg.url, DB_POOL_MAX: '10', ...env },
    { readyMs: 30_000 },
  );
  batons.push(b);
  return b;
}

interface Answer {
  status: number;
  code?: string;
  number?: number;
}

/** One claim over /api; a request that hangs past 60 s fails the test instead of waiting. */
async function claim(port: number, token: string, sequence: string): Promise<Answer> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/tools/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sequence }),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await res.json()) as { number?: number; error?: { code: string } };
    return { status: res.status, code: body.error?.code, number: body.number };
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new Error('a request hung for 60 s');
    return { status: 0, code: 'connection' }; // the process was killed under it
  }
}

async function claimsOf(sequence: string) {
  const { rows } = await sql<{ number: string }>`
    select number from claims where sequence = ${sequence} order by number`.execute(storage.db);
  return rows.map((r) => Number(r.number));
}

/** Every claim has its ledger event and every claim event its claim. */
async function claimsMatchLedger(sequence: string) {
  const { rows } = await sql<{ orphans: number; unbacked: number }>`
    select
      (select count(*)::int from claims c where c.sequence = ${sequence} and not exists (
         select 1 from events e where e.project_id = c.project_id and e.type = 'claim'
           and e.sequence = c.sequence and (e.data->>'number')::bigint = c.number)) as orphans,
      (select count(*)::int from events e where e.type = 'claim' and e.sequence = ${sequence} and not exists (
         select 1 from claims c where c.project_id = e.project_id and c.sequence = e.sequence
           and c.number = (e.data->>'number')::bigint)) as unbacked`.execute(storage.db);
  return rows[0];
}

const dense = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('three Baton processes on one database', () => {
  it(
    'hand out 2,000 concurrent claims gap-free and duplicate-free',
    { timeout: 180_000 },
    async () => {
      const trio = await Promise.all([spawnBaton(), spawnBaton(), spawnBaton()]);
      const tokens = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          seedToken(storage.db, { email: 'f@example.test', projectSlug: 'faults', label: `c${i}` }),
        ),
      );
      const answers = await Promise.all(
        Array.from({ length: 2000 }, (_, i) =>
          claim(
            (trio[i % 3] as { port: number }).port,
            (tokens[i % 20] as { token: string }).token,
            'trio',
          ),
        ),
      );
      expect(answers.filter((a) => a.status !== 200)).toEqual([]);
      expect(answers.map((a) => a.number).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(dense(2000));
      expect(await claimsOf('trio')).toEqual(dense(2000));
      expect(await claimsMatchLedger('trio')).toEqual({ orphans: 0, unbacked: 0 });
    },
  );

  it(
    'survive PostgreSQL stopping for 3 s under load: unavailable, never internal, recovered within 5 s',
    { timeout: 180_000 },
    async () => {
      const procs = batons.slice(0, 3);
      const { token } = await seedToken(storage.db, {
        email: 'f@example.test',
        projectSlug: 'faults',
        label: 'outage',
      });
      const answers: (Answer & { at: number })[] = [];
      let running = true;
      const workers = Array.from({ length: 24 }, async (_, w) => {
        while (running) {
          const a = await claim((procs[w % 3] as { port: number }).port, token, 'outage');
          answers.push({ ...a, at: Date.now() });
          if (a.status !== 200) await new Promise((r) => setTimeout(r, 50));
        }
      });
      await new Promise((r) => setTimeout(r, 1500));
      await pg.stop();
      const downAt = Date.now();
      await new Promise((r) => setTimeout(r, 3000));
      await pg.start();
      const upAt = Date.now();
      // Keep the load on until every process has answered successfully again.
      let recoveredAt = 0;
      while (!recoveredAt && Date.now() - upAt < 15_000) {
        await new Promise((r) => setTimeout(r, 100));
        const since = answers.filter((a) => a.at > upAt && a.status === 200);
        if (since.length >= 30) recoveredAt = since[0]?.at ?? 0;
      }
      await new Promise((r) => setTimeout(r, 1000));
      running = false;
      await Promise.all(workers);

      const during = answers.filter((a) => a.at > downAt && a.at < upAt);
      expect(during.length).toBeGreaterThan(0);
      expect(answers.filter((a) => a.status === 500 || a.code === 'internal')).toEqual([]);
      expect(
        new Set(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.code}`)),
      ).toEqual(new Set(['503 unavailable']));
      expect(recoveredAt, 'no successful claim after the database came back').toBeGreaterThan(0);
      expect(recoveredAt - upAt).toBeLessThan(5000);
      // Every acknowledged number is there, and the numbers are dense: none skipped or repeated.
      const stored = await claimsOf('outage');
      expect(stored).toEqual(dense(stored.length));
      const acknowledged = answers.filter((a) => a.status === 200).map((a) => a.number as number);
      expect(new Set(acknowledged).size).toBe(acknowledged.length);
      for (const n of acknowledged) expect(stored).toContain(n);
      expect(await claimsMatchLedger('outage')).toEqual({ orphans: 0, unbacked: 0 });
    },
  );

  it(
    'leave no partial change when one is killed with SIGKILL under load',
    { timeout: 120_000 },
    async () => {
      const victim = await spawnBaton();
      const survivor = batons[0] as { port: number };
      const { token } = await seedToken(storage.db, {
        email: 'f@example.test',
        projectSlug: 'faults',
        label: 'killed',
      });
      let running = true;
      const workers = Array.from({ length: 16 }, async (_, w) => {
        while (running) await claim(w % 2 ? victim.port : survivor.port, token, 'killed');
      });
      await new Promise((r) => setTimeout(r, 1500));
      victim.run.child.kill('SIGKILL');
      await victim.run.exited;
      await new Promise((r) => setTimeout(r, 1000));
      running = false;
      await Promise.all(workers);
      const stored = await claimsOf('killed');
      expect(stored.length).toBeGreaterThan(0);
      expect(stored).toEqual(dense(stored.length));
      expect(await claimsMatchLedger('killed')).toEqual({ orphans: 0, unbacked: 0 });
    },
  );
});

describe('a small pool and slow clients', () => {
  it(
    'queues requests when the pool is exhausted, and answers them all',
    { timeout: 120_000 },
    async () => {
      const tiny = await spawnBaton({ DB_POOL_MAX: '1' });
      const { token } = await seedToken(storage.db, {
        email: 'f@example.test',
        projectSlug: 'faults',
        label: 'tiny',
      });
      const answers = await Promise.all(
        Array.from({ length: 150 }, () => claim(tiny.port, token, 'tiny')),
      );
      expect(answers.filter((a) => a.status !== 200)).toEqual([]);
      expect(await claimsOf('tiny')).toEqual(dense(150));
    },
  );

  it(
    'keeps serving while slow clients dribble their headers, and cuts them off',
    { timeout: 60_000 },
    async () => {
      const b = batons[0] as { port: number };
      const { token } = await seedToken(storage.db, {
        email: 'f@example.test',
        projectSlug: 'faults',
        label: 'patient',
      });
      const sockets = await Promise.all(
        Array.from({ length: 50 }, () => {
          return new Promise<{ socket: net.Socket; closed: Promise<number> }>((resolve) => {
            const socket = net.connect(b.port, '127.0.0.1', () => {
              const opened = Date.now();
              socket.write('POST /api/v1/tools/whoami HTTP/1.1\r\nHost: x\r\n');
              const drip = setInterval(
                () => socket.writable && socket.write('X-Slow: 1\r\n'),
                1000,
              );
              const closed = new Promise<number>((done) =>
                socket.on('close', () => (clearInterval(drip), done(Date.now() - opened))),
              );
              socket.on('error', () => {});
              resolve({ socket, closed });
            });
          });
        }),
      );
      // Others are served as usual meanwhile.
      for (let i = 0; i < 5; i++) expect((await claim(b.port, token, 'patient')).status).toBe(200);
      // The header timeout (10 s) ends the slow ones; none is left hanging.
      const lifetimes = await Promise.all(sockets.map((s) => s.closed));
      expect(Math.max(...lifetimes)).toBeLessThan(30_000);
    },
  );
});
