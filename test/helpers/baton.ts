import { randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { seedToken, type SeedInput, type SeedResult } from '../../src/access/seed.js';
import { freePort } from '../../src/db/embedded.js';
import { ACCESS_CHANNEL, sendNotification } from '../../src/db/ledger.js';
import { createLedgerListener, type LedgerListener } from '../../src/db/notify.js';
import { openStorage, type Storage } from '../../src/db/pool.js';
import { createHttpServer, type BatonHttp } from '../../src/server.js';
import type { StreamHub } from '../../src/http/streams.js';
import { createLogger } from '../../src/log.js';
import { getCatalogue, metricsFor } from '../../src/main.js';
import type { Catalogue } from '../../src/mcp/catalogue.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { SERVE_WORKERS } from './process.js';
import { sdkClients } from './sdk-clients.js';
import { startServeBaton } from './serve-baton.js';

// A real Baton HTTP server on an ephemeral port over a cloned database, and the official MCP
// client to talk to it. With TEST_BATON_WORKERS=<n> in the environment, the server is a
// `baton serve` process with BATON_WORKERS=<n> instead (serve-baton.ts; `npm run test:workers`).

export interface TestBaton {
  baseUrl: string;
  mcpUrl: string;
  config: Readonly<Config>;
  storage: Storage;
  listener: LedgerListener;
  /** The event streams open on this server (push and ledger subscriptions). */
  streams: StreamHub;
  /**
   * Resolves once no client request is in flight and the server's pool is idle: every
   * fire-and-forget write a request started (liveness) has landed. A barrier for tests that
   * inspect or rewrite those rows.
   */
  settle(): Promise<void>;
  /** Mints a token (creating owner, project and participant as needed). */
  seed(input?: Partial<SeedInput>): Promise<SeedResult>;
  /**
   * An SDK client with its own session. It opens the session's push stream (GET) as the SDK
   * does, unless `push: false`: then it behaves as a client that never listens (it is told
   * the server offers no stream), for tests of the pull path (read_posts, long-polls).
   */
  connect(token: string, opts?: { profile?: 'core'; push?: boolean }): Promise<Client>;
  close(): Promise<void>;
}

export interface TestBatonOptions {
  env?: Record<string, string>;
  catalogue?: Catalogue;
  database?: { url: string };
  poolMax?: number;
  /** A fixed port, to stop a server and start another in its place. */
  port?: number;
  /** Where the ledger listener connects, when not to the database URL itself (a proxy). */
  listenerUrl?: string;
  /** The ledger listener's probe timings (default: the production ones). */
  listenerProbe?: { probeIntervalMs?: number; probeTimeoutMs?: number; pollIntervalMs?: number };
  /** The ledger listener's reconnect backoff (default 20–200 ms). */
  listenerDelayMs?: { min: number; max: number };
  streamHeartbeatMs?: number;
  /** Where the server's log lines go (with LOG_LEVEL in env); silent by default. */
  logSink?: Parameters<typeof createLogger>[1];
}

let seedCounter = 0;

/** baton.seed(): a token on this storage, with a fresh label unless the input names one. */
export function seeder(storage: Storage): TestBaton['seed'] {
  return (input = {}) =>
    seedToken(storage.db, {
      email: 'owner@example.test',
      projectSlug: 'alpha',
      label: `agent-${++seedCounter}`,
      ...input,
    });
}

export async function startTestBaton(
  opts: TestBatonOptions = {},
): Promise<TestBaton & { database?: TestDatabase }> {
  if (SERVE_WORKERS !== undefined) return startServeBaton(opts, SERVE_WORKERS);
  const database = opts.database ? undefined : await createTestDatabase();
  const url = opts.database?.url ?? (database as TestDatabase).url;
  const port = opts.port ?? (await freePort());
  const config = loadConfig({
    DATABASE_URL: url,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'silent',
    // Suites make hundreds of calls per token; the rate limiter has its own tests.
    BATON_RATE_LIMIT: '0',
    DB_POOL_MAX: String(opts.poolMax ?? 20),
    ...opts.env,
  });
  const log = createLogger(config.logLevel, opts.logSink);
  const storage = openStorage({ url, max: config.poolMax, log });
  const listener = createLedgerListener({
    url: opts.listenerUrl ?? url,
    log,
    db: storage.db,
    ...opts.listenerProbe,
    minDelayMs: opts.listenerDelayMs?.min ?? 20,
    maxDelayMs: opts.listenerDelayMs?.max ?? 200,
  });
  await listener.start();
  const http: BatonHttp = createHttpServer({
    db: storage.db,
    pool: storage.pool,
    config,
    log,
    listener,
    catalogue: opts.catalogue ?? getCatalogue(),
    metrics: metricsFor(storage, listener),
    streamHeartbeatMs: opts.streamHeartbeatMs,
  });
  await http.listen(port, '127.0.0.1');
  const clients = sdkClients(port);
  return {
    database,
    baseUrl: `http://127.0.0.1:${port}`,
    mcpUrl: `http://127.0.0.1:${port}/mcp`,
    config,
    storage,
    listener,
    streams: http.streams,
    settle: async () => {
      const { pool } = storage;
      // Look only after a macrotask: a request the client is about to send has started by then.
      do await new Promise((r) => setTimeout(r, 5));
      while (clients.inflight() > 0 || pool.waitingCount > 0 || pool.idleCount < pool.totalCount);
    },
    seed: seeder(storage),
    connect: clients.connect,
    close: async () => {
      await clients.closeAll();
      const stopped = http.close(1000);
      await listener.close();
      await stopped;
      await storage.close();
      await database?.drop();
    },
  };
}

/** One server for the whole test file. */
export function useTestBaton(opts: TestBatonOptions = {}): TestBaton {
  let baton: TestBaton | undefined;
  beforeAll(async () => {
    baton = await startTestBaton(opts);
  });
  afterAll(async () => {
    await baton?.close();
  });
  return new Proxy({} as TestBaton, {
    get: (_t, key) => {
      if (!baton) throw new Error('the test Baton is not started yet');
      return baton[key as keyof TestBaton];
    },
  });
}

/** The structured result of a tool call, or its error object when isError. */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = await client.callTool({ name, arguments: args });
  return { isError: r.isError === true, body: r.structuredContent as Record<string, unknown> };
}

/** The structured result of a call that must succeed; a tool error fails the test with its message. */
export async function callOk(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = await call(client, name, args);
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.body.error)}`);
  return r.body;
}

/** The error object of a call that must fail. */
export async function callErr(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = await call(client, name, args);
  if (!r.isError)
    throw new Error(`${name} succeeded, expected an error: ${JSON.stringify(r.body)}`);
  return r.body.error as { code: string; message: string } & Record<string, unknown>;
}

/**
 * Returns once `baton` has heard every access notice committed before the call (a seed's, a
 * rotation's): a marker notice of its own goes last, and notices arrive in commit order, after
 * the server's own handlers have acted on each. Tests that count token lookups settle first, so
 * a late notice cannot make the server forget a token between two counts.
 */
export async function accessNoticesHeard(baton: TestBaton): Promise<void> {
  const marker = `settled-${randomUUID()}`;
  let off = () => {};
  const heard = new Promise<void>((resolve) => {
    off = baton.listener.onAccessChange((payload) => {
      if (payload === marker) resolve();
    });
  });
  try {
    await sendNotification(baton.storage.db, ACCESS_CHANNEL, marker);
    await heard;
  } finally {
    off();
  }
}
