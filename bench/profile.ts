// Where a call's time goes, for finding what is not the database. `npx tsx bench/profile.ts`
// (after npm run build) prints per-call latency of a few tools over the MCP path; then, for a
// run of claims and a run of whats_new calls from the official SDK client, Baton's own CPU
// profile (node --cpu-prof): its busy share of the run and the functions it spent that time in.
//
//   --nosync   PostgreSQL without waiting for WAL flushes (separates disk latency from the rest)
//   --calls N  calls per profiled run (default 3000)
//   --keep P   also keep the profiles, as P-claim.cpuprofile and P-whats_new.cpuprofile
//
// Shares are of the samples taken while Baton was not idle, by wall clock: on a machine whose
// cores PostgreSQL and the client share, a thread descheduled inside a system call (writev, which
// hands the bytes to the other process) counts there. The CPU a call costs, from /proc, is the
// firmer figure.
import { setMaxListeners } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { seedToken } from '../src/access/seed.js';
import { freePort, startEmbedded } from '../src/db/embedded.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { openStorage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { callTool, now, openSession, RawClient, startBaton, summarize } from './lib.js';
import { summarizeCpuProfile } from './cpu-profile.js';

const { values: flags } = parseArgs({
  options: { nosync: { type: 'boolean' }, calls: { type: 'string' }, keep: { type: 'string' } },
});
const CALLS = Number(flags.calls ?? 3000);
const log = createLogger('silent');
setMaxListeners(0); // the SDK client adds an abort listener per request to one shared signal
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'baton-prof-'));
await fs.chmod(dir, 0o755);
const pg = await startEmbedded({ dataDir: path.join(dir, 'pg'), log, fast: Boolean(flags.nosync) });
const storage = openStorage({ url: pg.url, max: 4, log });
await migrateToLatest(storage.db);
const env = { DATABASE_URL: pg.url, LOG_LEVEL: 'warn', BATON_RATE_LIMIT: '0' };
const { token } = await seedToken(storage.db, { email: 'p@x.y', projectSlug: 'p', label: 'a' });

const time = async (label: string, f: () => Promise<unknown>, n = 1500) => {
  for (let i = 0; i < 200; i++) await f();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await f();
    xs.push(now() - t);
  }
  const r = summarize(xs);
  console.log(`${label.padEnd(40)} p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms`);
};

async function sdkClient(port: number): Promise<Client> {
  const sdk = new Client({ name: 'profile', version: '1' });
  await sdk.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return sdk;
}

// Latency of a few calls, one Baton.
{
  const port = await freePort();
  const baton = await startBaton(env, port);
  const raw = new RawClient(port);
  const s = await openSession(raw, token);
  await time('ping (HTTP + auth)', () =>
    raw.post('/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping"}', {
      authorization: `Bearer ${token}`,
      'mcp-session-id': s.sessionId,
    }),
  );
  await time('whoami (read tool, one transaction)', () => callTool(raw, s, 'whoami', {}));
  const sdk = await sdkClient(port);
  await time('ping (official SDK client)', () => sdk.ping());
  await time('claim (official SDK client)', () =>
    sdk.callTool({ name: 'claim', arguments: { sequence: 'y' } }),
  );
  await time('claim (raw HTTP client)', () => callTool(raw, s, 'claim', { sequence: 'x' }));
  await time('whats_new (advance:false)', () =>
    callTool(raw, s, 'whats_new', { advance: false, limit: 100 }),
  );
  await time('status', () => callTool(raw, s, 'status', {}));
  await sdk.close();
  raw.close();
  await baton.stop();
}

/** Runs `calls` of one tool from the SDK client against a Baton under --cpu-prof. */
async function profiled(label: string, tool: string, args: Record<string, unknown>) {
  const profDir = path.join(dir, `cpu-${tool}`);
  const port = await freePort();
  const spawned = now();
  const baton = await startBaton(env, port, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
  const sdk = await sdkClient(port);
  for (let i = 0; i < 300; i++) await sdk.callTool({ name: tool, arguments: args });
  const t0 = now();
  const cpu0 = await cpuOf(baton.child.pid as number);
  for (let i = 0; i < CALLS; i++) await sdk.callTool({ name: tool, arguments: args });
  const wallMs = now() - t0;
  // The profile covers the process's whole life; only the measured calls are summarised.
  const window = { fromMs: t0 - spawned, toMs: t0 - spawned + wallMs };
  const busyMs = (await cpuOf(baton.child.pid as number)) - cpu0;
  await sdk.close();
  await baton.stop();
  const [file] = await fs.readdir(profDir);
  if (flags.keep) {
    await fs.copyFile(path.join(profDir, file as string), `${flags.keep}-${tool}.cpuprofile`);
  }
  const summary = summarizeCpuProfile(
    JSON.parse(await fs.readFile(path.join(profDir, file as string), 'utf8')),
    window,
  );
  console.log(
    `\n${label}: ${CALLS} calls, ${(wallMs / CALLS).toFixed(2)} ms each; Baton's CPU (user+system) ${((busyMs / CALLS) * 1000).toFixed(0)} µs a call, busy ${((busyMs / wallMs) * 100).toFixed(0)}% of the run`,
  );
  console.log(summary.format(20));
}

/** The CPU time (user + system, ms) a process has used so far, from /proc. */
async function cpuOf(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

await profiled('claim (official SDK client)', 'claim', { sequence: 'prof' });
await profiled('whats_new (official SDK client, advance:false)', 'whats_new', {
  advance: false,
  limit: 100,
});
await storage.close();
await pg.stop();
await fs.rm(dir, { recursive: true, force: true });
