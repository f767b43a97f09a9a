import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { startEmbedded, type EmbeddedServer } from './embedded.js';
import {
  describeSchemaState,
  migrateToLatest,
  schemaState,
  type MigrateOutcome,
} from './migrate.js';
import { openStorage, type Storage } from './pool.js';

// Opens the database Baton runs on: DATABASE_URL when set, else the embedded PostgreSQL in
// BATON_DATA_DIR. `schema` says what to do about migrations: apply them (embedded default and
// `baton migrate`), require them current (serve on an external database), or leave them.
// Migrations go over the direct connection (DATABASE_DIRECT_URL, else DATABASE_URL): the pool
// may reach PostgreSQL through a pooler, which is for short transactions.

export interface OpenDatabase {
  /** The pool's connection string (DATABASE_URL, or the embedded server). */
  url: string;
  /** For connections outside the pool: the ledger listener, migrations, session-level locks. */
  directUrl: string;
  storage: Storage;
  embedded: EmbeddedServer | undefined;
  close(): Promise<void>;
}

class SchemaNotReady extends Error {}

export async function openDatabase(
  config: Readonly<Config>,
  log: Logger,
  opts: {
    schema: 'migrate' | 'require' | 'auto' | 'none';
    fast?: boolean;
    /** False: an embedded data directory must already hold a cluster (see startEmbedded). */
    create?: boolean;
  },
): Promise<OpenDatabase> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbedded({
        dataDir: config.dataDir,
        log,
        fast: opts.fast,
        create: opts.create,
      });
  const url = config.databaseUrl ?? (embedded as EmbeddedServer).url;
  const directUrl = config.databaseDirectUrl ?? url;
  const prepared = config.preparedStatements;
  const storage = openStorage({ url, max: config.poolMax, log, prepared });
  const close = async () => {
    await storage.close();
    await embedded?.stop();
  };
  try {
    const mode = opts.schema === 'auto' ? (embedded ? 'migrate' : 'require') : opts.schema;
    if (mode === 'migrate') {
      const { applied } = await migrateDirectly(directUrl, prepared, log);
      if (applied.length > 0) log.info({ applied }, 'migrations applied');
    } else if (mode === 'require') {
      const state = await schemaState(storage.db);
      if (state.state !== 'current') throw new SchemaNotReady(describeSchemaState(state));
    }
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return { url, directUrl, storage, embedded, close };
}

/** Applies pending migrations over a connection of their own to the direct URL. */
export async function migrateDirectly(
  directUrl: string,
  prepared: boolean,
  log: Logger,
): Promise<MigrateOutcome> {
  const direct = openStorage({
    url: directUrl,
    max: 1,
    log,
    prepared,
    applicationName: 'baton-migrate',
  });
  try {
    return await migrateToLatest(direct.db);
  } finally {
    await direct.close();
  }
}
