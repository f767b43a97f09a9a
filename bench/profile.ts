// Per-call latency of a few tools over the MCP path (raw keep-alive HTTP client), for finding
// where time goes. `npx tsx bench/profile.ts` (after npm run build); `--nosync` runs PostgreSQL
// without waiting for WAL flushes, which separates disk latency from everything else.
import { setMaxListeners } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { seedToken } from '../src/access/seed.js';
import { freePort, startEmbedded } from '../src/db/embedded.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { openStorage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { callTool, now, openSession, RawClient, startBaton, summarize } from './lib.js';

const log = createLogger('silent');
setMaxListeners(0); // the SDK client adds an abort listener per request to one shared signal
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'baton-prof-'));
await fs.chmod(dir, 0o755);
const pg = await startEmbedded({
  dataDir: path.join(dir, 'pg'),
  log,
  fast: process.argv.includes('--nosync'),
});
const storage = openStorage({ url: pg.url, max: 4, log });
await migrateToLatest(storage.db);
const port = await freePort();
const baton = await startBaton(
  { DATABASE_URL: pg.url, LOG_LEVEL: 'warn', BATON_RATE_LIMIT: '0' },
  port,
);
const raw = new RawClient(port);
const { token } = await seedToken(storage.db, { email: 'p@x.y', projectSlug: 'p', label: 'a' });
const s = await openSession(raw, token);
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
await time('ping (HTTP + auth)', () =>
  raw.post('/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping"}', {
    authorization: `Bearer ${token}`,
    'mcp-session-id': s.sessionId,
  }),
);
await time('whoami (read tool, one transaction)', () => callTool(raw, s, 'whoami', {}));
const sdk = new Client({ name: 'profile', version: '1' });
await sdk.connect(
  new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }),
);
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
await storage.close();
await pg.stop();
await fs.rm(dir, { recursive: true, force: true });
