import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { freePort } from '../../src/db/embedded.js';
import { openStorage } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import { seeder, type TestBaton, type TestBatonOptions } from './baton.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { CLI, start, stopRunning } from './process.js';
import { sdkClients } from './sdk-clients.js';

// The test Baton as a `baton serve` process with BATON_WORKERS=<workers> (TEST_BATON_WORKERS),
// so that a suite written against one in-process server runs unchanged against workers: same
// database, same URLs, same seeding and clients. What only an in-process server has (its
// listener, its streams, a different catalogue or log sink) cannot be offered; a test that asks
// for it fails saying so.

const IN_PROCESS_ONLY = [
  'catalogue',
  'listenerUrl',
  'listenerProbe',
  'listenerDelayMs',
  'streamHeartbeatMs',
  'logSink',
] as const;

function inProcessOnly(what: string): never {
  throw new Error(
    `this test needs the in-process server's ${what}; it cannot run with TEST_BATON_WORKERS`,
  );
}

export async function startServeBaton(
  opts: TestBatonOptions,
  workers: string,
): Promise<TestBaton & { database?: TestDatabase }> {
  for (const option of IN_PROCESS_ONLY) if (opts[option] !== undefined) inProcessOnly(option);
  const database = opts.database ? undefined : await createTestDatabase();
  const url = opts.database?.url ?? (database as TestDatabase).url;
  const port = opts.port ?? (await freePort());
  const env = {
    DATABASE_URL: url,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info', // for the line that says it is ready
    BATON_RATE_LIMIT: '0',
    DB_POOL_MAX: String(opts.poolMax ?? 20),
    BATON_WORKERS: workers,
    ...opts.env,
  };
  const config = loadConfig(env);
  const serve = start(process.execPath, [CLI, 'serve'], env);
  try {
    await serve.waitFor(/Baton is ready/, 60_000);
    if (!serve.stdout().includes(`"workers":${Number(workers)}`)) {
      throw new Error(`baton serve did not start ${workers} workers: ${serve.stdout()}`);
    }
  } catch (err) {
    await stopRunning(serve);
    await database?.drop();
    throw err;
  }
  // The test's own pool, named apart from the server's so settle() can tell them apart.
  const storage = openStorage({
    url,
    max: 4,
    log: createLogger('silent'),
    applicationName: 'baton-test',
  });
  const clients = sdkClients(port);
  return {
    database,
    baseUrl: `http://127.0.0.1:${port}`,
    mcpUrl: `http://127.0.0.1:${port}/mcp`,
    config,
    storage,
    get listener(): never {
      return inProcessOnly('ledger listener');
    },
    get streams(): never {
      return inProcessOnly('streams');
    },
    // The workers' pools are not visible from here; their connections are: settled once none
    // of them is busy, three looks in a row.
    settle: async () => {
      for (let quiet = 0; quiet < 3;) {
        await new Promise((r) => setTimeout(r, 10));
        const { rows } = await sql<{ busy: number }>`
          select count(*)::int as busy from pg_stat_activity
          where datname = current_database() and application_name = 'baton' and state <> 'idle'`.execute(
          storage.db,
        );
        quiet = clients.inflight() === 0 && rows[0]?.busy === 0 ? quiet + 1 : 0;
      }
    },
    seed: seeder(storage),
    connect: clients.connect,
    close: async () => {
      await clients.closeAll();
      await stopRunning(serve);
      await storage.close();
      await database?.drop();
    },
  };
}
