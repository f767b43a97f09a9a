import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedToken, type SeedResult } from '../src/access/seed.js';
import { openStorage, transact, type Storage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { apiOk, callApi } from './helpers/agents.js';
import { readMetrics } from './helpers/http.js';
import { ownPostgres, type OwnPostgres } from './helpers/pg.js';
import { PGBOUNCER, startPgBouncer, type Bouncer } from './helpers/pgbouncer.js';
import {
  SERVE_WORKERS,
  serveProcess,
  stopServeProcesses,
  type ServeProcess,
} from './helpers/process.js';
import { channelInbox, eventually } from './helpers/sse.js';

// Baton behind the pooler operators are handed: Debian's PgBouncer 1.18 in transaction mode, in
// front of a PostgreSQL of this file's own. Two `baton serve` processes (A and B) reach it with
// DB_PREPARED_STATEMENTS=false and listen over DATABASE_DIRECT_URL; a third (C) has no direct
// URL, so its listener goes through the pooler too and hears nothing.

const SKIP = PGBOUNCER ? undefined : 'pgbouncer is not installed (CI installs Debian pgbouncer)';
if (SKIP) process.stderr.write(`[baton tests] SKIPPING test/pooler.test.ts: ${SKIP}\n`);

const log = createLogger('silent');

type Proc = ServeProcess & { name: string };

let pg: OwnPostgres;
let bouncer: Bouncer;
let direct: Storage;
let a: Proc;
let b: Proc;
let c: Proc;

async function serve(name: string, env: Record<string, string>): Promise<Proc> {
  return { name, ...(await serveProcess({ DB_PREPARED_STATEMENTS: 'false', ...env })) };
}

beforeAll(async () => {
  if (SKIP) return;
  pg = await ownPostgres('baton-pooler');
  bouncer = await startPgBouncer(pg.url);
  direct = openStorage({ url: pg.url, max: 4, log });
  [a, b, c] = await Promise.all([
    serve('A', { DATABASE_URL: bouncer.url, DATABASE_DIRECT_URL: pg.url }),
    serve('B', { DATABASE_URL: bouncer.url, DATABASE_DIRECT_URL: pg.url }),
    serve('C', { DATABASE_URL: bouncer.url }),
  ]);
}, 120_000);

afterAll(async () => {
  await stopServeProcesses();
  await direct?.close();
  await bouncer?.stop();
  await pg?.dispose();
});

let seeds = 0;
const seed = (project: string): Promise<SeedResult> =>
  seedToken(direct.db, {
    email: 'pooler@example.test',
    projectSlug: project,
    label: `agent-${++seeds}`,
  });

async function readyz(p: Proc) {
  const res = await fetch(`${p.baseUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
}

/** A gauge's value from /metrics (NaN when absent). */
async function gauge(p: Proc, name: string): Promise<number> {
  return (await readMetrics(p.port))(name) ?? NaN;
}

async function mcp(p: Proc, token: string): Promise<Client> {
  const client = new Client({ name: 'pooler-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${p.baseUrl}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

describe.skipIf(SKIP)('behind PgBouncer 1.18 in transaction mode', () => {
  it('refuses settings sent at connect, which is why the pooler-safe mode sends none', async () => {
    const prepared = openStorage({ url: bouncer.url, max: 1, log });
    try {
      await expect(sql`select 1`.execute(prepared.db)).rejects.toThrow(
        /unsupported startup parameter: statement_timeout/,
      );
    } finally {
      await prepared.close();
    }
  });

  it('keeps the statement timeout in force: a long statement is cancelled, alone or in a transaction', async () => {
    const quick = openStorage({
      url: bouncer.url,
      max: 2,
      log,
      prepared: false,
      statementTimeoutMs: 200,
    });
    const usual = openStorage({ url: bouncer.url, max: 2, log, prepared: false });
    try {
      const sleep = sql`select pg_sleep(${5})`;
      await expect(sleep.execute(quick.db)).rejects.toMatchObject({ code: '57014' });
      await expect(transact(quick.db, (trx) => sleep.execute(trx))).rejects.toMatchObject({
        code: '57014',
      });
      // The connections are clean afterwards, and the default timeout is the 30 s one.
      const setting = sql<{ t: string }>`select current_setting('statement_timeout') as t`;
      expect((await setting.execute(quick.db)).rows).toEqual([{ t: '200ms' }]);
      expect((await setting.execute(usual.db)).rows).toEqual([{ t: '30s' }]);
      expect((await transact(usual.db, (trx) => setting.execute(trx))).rows).toEqual([
        { t: '30s' },
      ]);
    } finally {
      await quick.close();
      await usual.close();
    }
  });

  it('takes 300 concurrent claims over two processes gap-free, with no error', async () => {
    const agents = await Promise.all(Array.from({ length: 30 }, () => seed('claims')));
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        callApi(i % 2 ? a : b, (agents[i % agents.length] as SeedResult).token, 'claim', {
          sequence: 'pooled',
        }),
      ),
    );
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const numbers = results.map((r) => Number(r.body.number)).sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from events e join projects p on p.id = e.project_id
      where p.slug = 'claims' and e.type = 'claim' and e.sequence = 'pooled'`.execute(direct.db);
    expect(rows[0]?.n).toBe(300);
  });

  it('answers a mixed load of posts, claims, leases, whats_new and task transitions without an error', async () => {
    const agents = await Promise.all(Array.from({ length: 16 }, () => seed('mixed')));
    const failures: string[] = [];
    const run = async (k: number) => {
      const me = agents[k] as SeedResult;
      const next = agents[(k + 1) % agents.length] as SeedResult;
      const p = k % 2 ? a : b;
      const call = async (tool: string, args: Record<string, unknown> = {}) => {
        const r = await callApi(p, me.token, tool, args);
        if (r.status !== 200) failures.push(`${tool}: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body;
      };
      await call('register', { lane: `lane-${k % 3}` });
      for (let i = 0; i < 5; i++) {
        await call('post', { to_actor: next.actor, body: `round ${i}` });
        await call('claim', { sequence: 'mixed' });
        const surface = `src/agent-${k}/file-${i}.ts`;
        await call('lease', { surface, ttl_seconds: 60 });
        await call('release', { surface });
        await call('whats_new', {});
        const task = await call('task_create', { title: `task ${k}.${i}` });
        const taskId = (task.task as { task_id: number } | undefined)?.task_id;
        await call('task_start', { task_id: taskId });
        await call('task_ship', { task_id: taskId, ref: `PR#${k}${i}` });
        await call('read_posts', {});
      }
    };
    await Promise.all(agents.map((_, k) => run(k)));
    expect(failures).toEqual([]);
  });

  it('wakes a long-poll and a push stream on A soon after a post through B', async () => {
    // Both listeners hear (over DATABASE_DIRECT_URL), so the wake-up is a notification.
    for (const p of [a, b]) {
      expect(await readyz(p)).toEqual({ status: 200, body: { status: 'ready' } });
      expect(await gauge(p, 'baton_ledger_listener_hearing')).toBe(1);
    }
    const reader = await seed('wake');
    const listener = await seed('wake');
    const writer = await seed('wake');
    await apiOk(a, reader.token, 'whats_new', { limit: 500 });
    const pushed = await mcp(a, listener.token);
    const inbox = channelInbox(pushed);
    await eventually(async () => expect(await gauge(a, 'baton_streams_open{kind="mcp"}')).toBe(1));

    const waiters = await gauge(a, 'baton_ledger_waiters');
    const started = Date.now();
    const waiting = apiOk(a, reader.token, 'whats_new', { wait_seconds: 30 });
    await eventually(async () =>
      expect(await gauge(a, 'baton_ledger_waiters')).toBeGreaterThan(waiters),
    );
    const posted = Date.now();
    const sent = await apiOk(b, writer.token, 'post', { broadcast: true, body: 'wake up' });
    const page = (await waiting) as { events: { type: string; post_id: number }[] };
    const woke = Date.now();
    expect(page.events).toEqual([expect.objectContaining({ type: 'post', post_id: sent.post_id })]);
    await inbox.next((n) => n.meta.post_id === String(sent.post_id));
    const pushedAt = Date.now();
    expect(woke - started).toBeLessThan(15_000); // the 30 s deadline was nowhere near
    process.stderr.write(
      `[pooler] whats_new on A woke ${woke - posted} ms after the post through B was sent; ` +
        `the push on A arrived ${pushedAt - posted} ms after it\n`,
    );
    await pushed.close();
  });

  it('without DATABASE_DIRECT_URL: not ready, naming it, logged once, and waiters poll the ledger', async () => {
    await eventually(async () => {
      const r = await readyz(c);
      expect(r.status).toBe(503);
      expect(r.body.reason).toMatch(/DATABASE_DIRECT_URL/);
    }, 10_000);
    expect(await gauge(c, 'baton_ledger_listener_hearing')).toBe(0);

    const reader = await seed('deaf');
    const listener = await seed('deaf');
    const writer = await seed('deaf');
    await apiOk(c, reader.token, 'whats_new', { limit: 500 });
    const pushed = await mcp(c, listener.token);
    const inbox = channelInbox(pushed);
    await eventually(async () => expect(await gauge(c, 'baton_streams_open{kind="mcp"}')).toBe(1));
    const waiters = await gauge(c, 'baton_ledger_waiters');
    const waiting = apiOk(c, reader.token, 'whats_new', { wait_seconds: 30 });
    await eventually(async () =>
      expect(await gauge(c, 'baton_ledger_waiters')).toBeGreaterThan(waiters),
    );
    const posted = Date.now();
    const sent = await apiOk(a, writer.token, 'post', { broadcast: true, body: 'anyone?' });
    const page = (await waiting) as { events: { type: string; post_id: number }[] };
    const woke = Date.now();
    expect(page.events).toEqual([expect.objectContaining({ type: 'post', post_id: sent.post_id })]);
    await inbox.next((n) => n.meta.post_id === String(sent.post_id));
    const pushedAt = Date.now();
    expect(woke - posted).toBeLessThan(15_000); // the 30 s deadline was nowhere near
    process.stderr.write(
      `[pooler] without a direct URL: whats_new on C returned ${woke - posted} ms after the post; ` +
        `the push on C arrived ${pushedAt - posted} ms after it\n`,
    );
    await pushed.close();

    // One error line for the whole time it has been deaf (it has probed several times by now),
    // from each of its processes (with TEST_BATON_WORKERS, each worker is one).
    const lines = c.run
      .stdout()
      .split('\n')
      .filter((l) => /DATABASE_DIRECT_URL/.test(l))
      .map((l) => JSON.parse(l) as { level: string; worker?: number });
    expect(lines).toHaveLength(Number(SERVE_WORKERS ?? 1));
    expect(new Set(lines.map((l) => l.worker)).size).toBe(lines.length);
    for (const l of lines) expect(l).toMatchObject({ level: 'error' });
    // A and B never were.
    for (const p of [a, b]) expect(p.run.stdout()).not.toMatch(/hears no notifications/);
  });
});
