import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../log.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Trx = Transaction<Database>;
/** Query functions take either: a transaction, or the pool-backed instance for one-shot reads. */
export type Executor = Kysely<Database>;

export interface Storage {
  pool: pg.Pool;
  db: Db;
  close(): Promise<void>;
}

export interface PoolOptions {
  url: string;
  max: number;
  log: Logger;
  applicationName?: string;
}

/**
 * A pg client that runs every parameterised single statement as a named prepared statement, so
 * each connection plans a query once instead of on every call: for Baton's short, repeated
 * queries, planning is a large part of their cost. Statement names derive from the SQL text, so
 * the same query always reuses its plan. Multi-statement text (migrations) is left alone.
 */
const statementNames = new Map<string, string>();

class PreparingClient extends pg.Client {
  override query(config: unknown, values?: unknown, callback?: unknown): never {
    if (
      typeof config === 'string' &&
      Array.isArray(values) &&
      config.length < 16_384 &&
      !config.includes(';')
    ) {
      let name = statementNames.get(config);
      if (name === undefined) {
        name = `b_${createHash('sha1').update(config).digest('base64url')}`;
        // Texts are static (AGENTS.md), so this stays small; the bound only guards a mistake.
        if (statementNames.size >= 10_000) statementNames.clear();
        statementNames.set(config, name);
      }
      return (super.query as (...a: unknown[]) => never)({ name, text: config, values }, callback);
    }
    return (super.query as (...a: unknown[]) => never)(config, values, callback);
  }
}

export function openStorage(opts: PoolOptions): Storage {
  const pool = new pg.Pool({
    Client: PreparingClient,
    connectionString: opts.url,
    max: opts.max,
    // Bounded waits (for a connection, or for a free slot when the pool is exhausted) so callers get
    // `unavailable` instead of hanging.
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? 'baton',
    statement_timeout: 30_000,
  });
  // A connection lost under us (database restart) must not crash the process. pg emits the
  // loss on the client: the pool listens while a client is idle, and this listener covers the
  // time it is checked out (inside a transaction, between statements), where the failing query
  // or the next one rejects and the request answers `unavailable`.
  // pg-pool hangs the whole client on the error (err.client, backend key included): log the reason.
  pool.on('error', (err) =>
    opts.log.warn(
      { reason: err.message, code: (err as { code?: string }).code },
      'idle database connection lost',
    ),
  );
  pool.on('connect', (client) => {
    client.on('error', (err) => opts.log.warn({ err }, 'database connection lost'));
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    pool,
    db,
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

let savepointCounter = 0;

/**
 * Runs fn in a transaction. Inside an outer transaction (the rolled-back test tier, or a tool
 * calling a helper that also wants one) it uses a savepoint, since kysely refuses nested
 * transaction() calls.
 */
export async function transact<T>(db: Db | Trx, fn: (trx: Trx) => Promise<T>): Promise<T> {
  if (!db.isTransaction) return db.transaction().execute(fn);
  const trx = db as Trx;
  const name = sql.id(`sp_${++savepointCounter}`);
  await sql`savepoint ${name}`.execute(trx);
  try {
    const result = await fn(trx);
    await sql`release savepoint ${name}`.execute(trx);
    return result;
  } catch (err) {
    await sql`rollback to savepoint ${name}`.execute(trx);
    throw err;
  }
}
