import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.js';
import { freshCall, freshRequest, metricValue } from './helpers/http.js';
import { CLI, postgresProcessesUnder, start, type Running } from './helpers/process.js';
import { eventually } from './helpers/sse.js';

// `baton serve` with BATON_WORKERS=2 on a fresh data directory, as an operator runs it: one
// primary that owns the embedded PostgreSQL, two workers serving one port.

const dirs: string[] = [];
const running: Running[] = [];
afterAll(async () => {
  for (const r of running) r.child.kill('SIGKILL');
  await Promise.all(running.map((r) => r.exited));
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

/** The child processes of a primary running `command` (the workers; its PostgreSQL). */
function childrenOf(primary: number, command: RegExp): number[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(primary)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when the process has no children (or is gone)
  }
  return out
    .split('\n')
    .filter((l) => command.test(l))
    .map((l) => Number(l.trim().split(' ')[0]));
}

const workersOf = (primary: number) => childrenOf(primary, /dist\/cli\/index\.js serve/);

describe('BATON_WORKERS=2', () => {
  it(
    'starts PostgreSQL once, serves from two workers on one port, gathers their metrics, replaces a dead worker and stops within 5 s',
    { timeout: 120_000 },
    async () => {
      const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'baton-workers-'));
      dirs.push(dataDir);
      await fs.chmod(dataDir, 0o755);
      const port = await freePort();
      const serve = start(process.execPath, [CLI, 'serve'], {
        BATON_DATA_DIR: dataDir,
        PORT: String(port),
        LOG_LEVEL: 'info',
        BATON_WORKERS: '2',
      });
      running.push(serve);
      await serve.waitFor(/Baton is ready/, 60_000);
      // The log line and the printed token are separate writes: either may come first.
      await serve.waitFor(/^ {2}baton_[A-Za-z0-9_-]{43}$/m);
      const primary = serve.child.pid as number;
      expect(serve.stdout()).toMatch(/"workers":2,"msg":"Baton is ready"/);
      // Bootstrapped once, by the primary.
      const tokens = serve.stdout().match(/^ {2}baton_[A-Za-z0-9_-]{43}$/gm) ?? [];
      expect(tokens).toHaveLength(1);
      const token = (tokens[0] as string).trim();
      // One PostgreSQL postmaster, the primary's; two workers.
      const postmasters = postgresProcessesUnder(dataDir).filter((l) => / -D /.test(l));
      expect(postmasters).toHaveLength(1);
      expect(workersOf(primary)).toHaveLength(2);
      expect((await freshRequest(port, '/readyz')).status).toBe(200);

      // New connections go to the workers in turn; /metrics, on either, counts for both.
      for (let i = 0; i < 8; i++) {
        expect((await freshCall(port, token, 'whoami')).body).toMatchObject({
          actor: 'admin/lead',
        });
      }
      const served = (labels: string) => metricValue(port, 'baton_http_requests_total', labels);
      expect(await served('{route="api_tools",status="200"}')).toBe(8);
      expect(await metricValue(port, 'baton_token_resolutions_total', '{source="database"}')).toBe(
        2,
      );

      // A worker that dies is replaced; the other serves meanwhile. (A connection handed to the
      // worker as it died is lost with it, as with any process that dies: the client retries.)
      const [victim] = workersOf(primary);
      process.kill(victim as number, 'SIGKILL');
      const retried = () =>
        freshCall(port, token, 'whoami', {}, 2_000).catch(() => ({ status: 0 }));
      await eventually(async () => expect((await retried()).status).toBe(200));
      await eventually(() => {
        const now = workersOf(primary);
        expect(now).toHaveLength(2);
        expect(now).not.toContain(victim);
      });
      await eventually(async () => {
        for (let i = 0; i < 4; i++) expect((await retried()).status).toBe(200);
      });

      serve.child.kill('SIGTERM');
      const outcome = await Promise.race([
        serve.exited,
        new Promise<'late'>((r) => setTimeout(() => r('late'), 5_000)),
      ]);
      expect(outcome).toEqual({ code: 0, signal: null });
      expect(workersOf(primary)).toEqual([]);
      expect(postgresProcessesUnder(dataDir)).toEqual([]);
    },
  );

  it('refuses a value that is not a number of workers, saying what it takes', async () => {
    const run = start(process.execPath, [CLI, 'serve'], { BATON_WORKERS: 'many' });
    running.push(run);
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.stderr()).toMatch(/BATON_WORKERS must be a whole number or auto/);
  });
});
