import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { openStorage, type Db, type Storage, type Trx } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import { adminQuery, withDatabase } from './pg.js';

// Two tiers (house style): a database of its own per test file, cloned from the migrated
// template, for anything that commits, races or listens; and rolledBack() for cheap tests that
// run inside one transaction and leave nothing behind.

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = inject('pgAdminUrl');
  const name = `baton_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(admin, `create database ${name} template ${inject('templateDb')}`);
  return {
    name,
    url: withDatabase(admin, name),
    drop: () => adminQuery(admin, `drop database if exists ${name} with (force)`),
  };
}

/** A cloned database and a pool on it for the whole test file. */
export function useTestDatabase(poolMax = 10): {
  readonly url: string;
  readonly storage: Storage;
  readonly db: Db;
} {
  let database: TestDatabase | undefined;
  let storage: Storage | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    storage = openStorage({ url: database.url, max: poolMax, log: createLogger('silent') });
  });
  afterAll(async () => {
    await storage?.close();
    await database?.drop();
  });
  return {
    get url() {
      return (database as TestDatabase).url;
    },
    get storage() {
      return storage as Storage;
    },
    get db() {
      return (storage as Storage).db;
    },
  };
}

class Rollback extends Error {}

/** Runs fn in a transaction that is always rolled back. */
export async function rolledBack(db: Db, fn: (trx: Trx) => Promise<void>): Promise<void> {
  try {
    await db.transaction().execute(async (trx) => {
      await fn(trx);
      throw new Rollback();
    });
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
  }
}
