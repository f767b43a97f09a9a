import type { EventEmitter } from 'node:events';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Logger } from '../log.js';
import { clientClass } from './clients.js';
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
  /** false: pooler-safe (see clients.ts). Default true. */
  prepared?: boolean;
  /** Default 30 s; tests shorten it to see a statement cancelled. */
  statementTimeoutMs?: number;
}

export function openStorage(opts: PoolOptions): Storage {
  const prepared = opts.prepared ?? true;
  const statementTimeoutMs = opts.statementTimeoutMs ?? 30_000;
  const onCommitted = (notes: readonly (readonly [string, string])[]) => {
    // After the COMMIT succeeded: a failing subscriber must not turn a committed write into an error.
    try {
      pool.emit(COMMITTED, notes);
    } catch (err) {
      opts.log.error({ err }, 'a commit subscriber failed');
    }
  };
  const pool: pg.Pool = new pg.Pool({
    Client: clientClass({ prepared, statementTimeoutMs, onCommitted }),
    connectionString: opts.url,
    max: opts.max,
    // Bounded waits (for a connection, or for a free slot when the pool is exhausted) so callers get
    // `unavailable` instead of hanging.
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? 'baton',
    // A pooler refuses (or silently drops) settings sent at connect; there the clients set the
    // timeout per transaction instead.
    ...(prepared ? { statement_timeout: statementTimeoutMs } : {}),
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

/** The pool event carrying a committed transaction's wake-ups (see clients.ts). */
const COMMITTED = 'baton:committed';

/**
 * Calls fn with the payload of every notification on `channel` that a transaction of this pool
 * committed, right after its COMMIT returns and before the caller goes on: this process learns
 * of its own changes at once, without waiting for the listener to hear them.
 */
export function onCommittedNotice(
  pool: pg.Pool,
  channel: string,
  fn: (payload: string) => void,
): () => void {
  const handler = (notes: readonly (readonly [string, string])[]) => {
    for (const [c, payload] of notes) if (c === channel) fn(payload);
  };
  // pg types the pool's own events only; this one is Baton's (emitted in openStorage).
  const events = pool as unknown as EventEmitter;
  events.on(COMMITTED, handler);
  return () => void events.off(COMMITTED, handler);
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
