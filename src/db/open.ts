import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { startEmbedded, type EmbeddedServer } from './embedded.js';
import { describeSchemaState, migrateToLatest, schemaState } from './migrate.js';
import { openStorage, type Storage } from './pool.js';

// Opens the database Baton runs on: DATABASE_URL when set, else the embedded PostgreSQL in
// BATON_DATA_DIR. `schema` says what to do about migrations: apply them (embedded default and
// `baton migrate`), require them current (serve on an external database), or leave them.

export interface OpenDatabase {
  /** The connection string in use, for connections outside the pool (the ledger listener). */
  url: string;
  storage: Storage;
  embedded: EmbeddedServer | undefined;
  close(): Promise<void>;
}

export class SchemaNotReady extends Error {}

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
  const storage = openStorage({ url, max: config.poolMax, log });
  const close = async () => {
    await storage.close();
    await embedded?.stop();
  };
  try {
    const mode = opts.schema === 'auto' ? (embedded ? 'migrate' : 'require') : opts.schema;
    if (mode === 'migrate') {
      const { applied } = await migrateToLatest(storage.db);
      if (applied.length > 0) log.info({ applied }, 'migrations applied');
    } else if (mode === 'require') {
      const state = await schemaState(storage.db);
      if (state.state !== 'current') throw new SchemaNotReady(describeSchemaState(state));
    }
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return { url, storage, embedded, close };
}
