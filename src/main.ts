import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { bootstrapFirstRun, type SeedResult } from './access/seed.js';
import { createLedgerListener, type LedgerListener } from './db/notify.js';
import { openDatabase, type OpenDatabase } from './db/open.js';
import { createHttpServer } from './server.js';
import type { Logger } from './log.js';
import { buildCatalogue, type Catalogue } from './mcp/catalogue.js';
import { Metrics } from './metrics.js';
import { countOpenSessions } from './db/sessions.js';
import type { Storage } from './db/pool.js';
import { startPruneJob } from './db/prune.js';
import type { IdentityPeers } from './http/identity-memory.js';

// The composition root: config → database → ledger listener → HTTP. Nothing else lives here.

export interface Baton {
  address: AddressInfo;
  database: OpenDatabase;
  /** Ledger wake-ups for long-polls (and, later, push). */
  listener: LedgerListener;
  /** Set on the one start that created the first owner and its token. */
  bootstrap: SeedResult | undefined;
  metrics: Metrics;
  close(): Promise<void>;
}

let catalogue: Catalogue | undefined;
/** Built once per process, however many servers or sessions (spec §12). */
export function getCatalogue(): Catalogue {
  catalogue ??= buildCatalogue();
  return catalogue;
}

/** The process's metrics, reading the pool and the session count of this storage. */
export function metricsFor(storage: Storage, listener?: LedgerListener): Metrics {
  return new Metrics({
    pool: storage.pool,
    openSessions: () => countOpenSessions(storage.db),
    listener,
  });
}

/** The first-run owner and token: always on the embedded database, elsewhere when asked for. */
export function bootstrapIfWanted(
  database: { embedded: unknown; storage: Storage },
  config: Readonly<Config>,
) {
  return database.embedded || config.bootstrap
    ? bootstrapFirstRun(database.storage.db)
    : Promise.resolve(undefined);
}

export async function startBaton(
  config: Readonly<Config>,
  log: Logger,
  opts: { fast?: boolean; identityPeers?: IdentityPeers } = {},
): Promise<Baton> {
  const database = await openDatabase(config, log, { schema: 'auto', fast: opts.fast });
  const listener = createLedgerListener({
    url: database.directUrl,
    log,
    db: database.storage.db,
  });
  try {
    const bootstrap = await bootstrapIfWanted(database, config);
    await listener.start();
    const metrics = metricsFor(database.storage, listener);
    const http = createHttpServer({
      db: database.storage.db,
      pool: database.storage.pool,
      config,
      log,
      listener,
      catalogue: getCatalogue(),
      metrics,
      identityPeers: opts.identityPeers,
    });
    const address = await http.listen(config.port, config.host);
    const stopPruning = startPruneJob(database.storage.db, config.pruneIntervalHours, log);
    let closing: Promise<void> | undefined;
    return {
      address,
      database,
      listener,
      bootstrap,
      metrics,
      close: () =>
        (closing ??= (async () => {
          // Stop accepting first; closing the listener then ends every long-poll at once, so
          // in-flight requests can finish well within the shutdown deadline.
          stopPruning();
          const stopped = http.close();
          await listener.close();
          await stopped;
          await database.close();
        })()),
    };
  } catch (err) {
    await listener.close();
    await database.close().catch(() => {});
    throw err;
  }
}
