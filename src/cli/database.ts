import type { Config } from '../config.js';
import { NoEmbeddedDatabase } from '../db/embedded.js';
import { openDatabase, type OpenDatabase } from '../db/open.js';
import type { Db } from '../db/pool.js';
import { cliConfig, cliLogger } from './common.js';

// Apart from common.ts, which every verb (`baton connect` too) loads: only the verbs that act on
// the server's database load the database with it.

/**
 * The database of the server these verbs act on. On the embedded database that is the cluster
 * in BATON_DATA_DIR, which `serve` creates: a verb run elsewhere refuses, rather than create a
 * second cluster and mint tokens the running server has never heard of.
 */
async function openServerDatabase(config: Readonly<Config>): Promise<OpenDatabase> {
  try {
    return await openDatabase(config, cliLogger(config), { schema: 'auto', create: false });
  } catch (err) {
    if (!(err instanceof NoEmbeddedDatabase)) throw err;
    throw new Error(
      `no Baton database in ${err.dataDir}: run this where the server runs (or set BATON_DATA_DIR to its data directory, or DATABASE_URL), or start one there first with npm start`,
      { cause: err },
    );
  }
}

/** Runs `fn` on the server's database (see openServerDatabase), closing it afterwards. */
export async function withServerDatabase<T>(
  fn: (db: Db, config: Readonly<Config>) => Promise<T>,
): Promise<T> {
  const config = cliConfig();
  const database = await openServerDatabase(config);
  try {
    return await fn(database.storage.db, config);
  } finally {
    await database.close();
  }
}
