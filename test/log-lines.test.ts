import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Remote } from '../src/bridge/remote.js';
import { freePort } from '../src/db/embedded.js';
import { openStorage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { startTestBaton } from './helpers/baton.js';
import { useTestDatabase } from './helpers/db.js';
import { eventually } from './helpers/sse.js';

// Log lines a JSON log pipeline can use: one `msg`, a short reason, nothing of a client object.

function sink() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { stream, lines, raw };
}

const t = useTestDatabase();

describe('log lines', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });

  it('a lost idle database connection is logged as its reason, not the whole pg client', async () => {
    const out = sink();
    const storage = openStorage({ url: t.url, max: 2, log: createLogger('info', out.stream) });
    closers.push(() => storage.close());
    // One connection, now idle in the pool; end it from the server side.
    const { rows } = await storage.pool.query<{ pid: number }>('select pg_backend_pid() as pid');
    const admin = new pg.Client({ connectionString: t.url });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
    await admin.end();
    await eventually(() =>
      expect(out.lines.map((l) => l.msg)).toContain('idle database connection lost'),
    );
    const line = out.raw.find((l) => l.includes('idle database connection lost')) as string;
    expect(line.length).toBeLessThan(500);
    expect(line).not.toMatch(/"client"|secretKey|processID|connectionParameters/);
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', reason: expect.any(String) });
  });

  it('a refused request logs one msg, and the reason beside it', async () => {
    const out = sink();
    const baton = await startTestBaton({
      database: { url: t.url },
      env: { LOG_LEVEL: 'info' },
      logSink: out.stream,
    });
    closers.push(() => baton.close());
    const res = await fetch(`${baton.baseUrl}/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: `baton_inv_${'A'.repeat(43)}`, name: 'someone' }),
    });
    expect(res.status).toBe(404);
    await baton.settle();
    const line = out.raw.find((l) => l.includes('request failed')) as string;
    expect(line).toBeDefined();
    expect(line.match(/"msg":/g)).toHaveLength(1);
    expect(JSON.parse(line)).toMatchObject({
      msg: 'request failed',
      code: 'not_found',
      reason: expect.stringMatching(/unknown invite code/),
    });
  });

  it('the bridge logs a lost link with its reason as text', async () => {
    const out = sink();
    const port = await freePort(); // nothing listens there
    const remote = new Remote({
      url: new URL(`http://127.0.0.1:${port}/mcp`),
      token: 'baton_x',
      log: createLogger('info', out.stream),
      clientInfo: { name: 'log-test', version: '1' },
      onNotification: () => {},
      minDelayMs: 60_000,
    });
    closers.push(() => remote.close());
    expect(await remote.connect()).toBe(false);
    const line = out.lines.find((l) => l.msg === 'Baton link lost');
    expect(line).toMatchObject({ reason: 'ECONNREFUSED' });
    expect(JSON.stringify(line)).not.toMatch(/"0":/);
  });
});
