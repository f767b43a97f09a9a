import { createHash } from 'node:crypto';
import pg from 'pg';

// The pg clients behind the pool. Both hold back a transaction's wake-ups and send them with its
// COMMIT; they differ in how they send everything else.
//
// - Prepared (the default, for a direct connection to PostgreSQL): every parameterised single
//   statement runs as a named prepared statement, so each connection plans a query once instead
//   of on every call (for Baton's short, repeated queries planning is a large part of their
//   cost), and the statement timeout is a setting sent at connect.
// - Pooler-safe (DB_PREPARED_STATEMENTS=false): behind a transaction-mode pooler a client's
//   consecutive transactions may run on different server connections, so nothing may live in the
//   session. Statements are unnamed, nothing is set at connect, and the statement timeout is set
//   per transaction: folded into BEGIN (no extra round trip), and around a statement sent outside
//   a transaction, which becomes BEGIN; SET LOCAL / the statement / COMMIT.

/**
 * The statement that wakes readers (ledger appends, the listener's probe). Inside a transaction
 * the client does not send it: it sends it in the same round trip as the COMMIT, so a wake-up
 * costs nothing, is delivered only if the transaction commits, and comes from a statement of
 * its own, which a distributed database runs on the node the listener is connected to.
 */
export const NOTIFY_SQL = 'select pg_notify($1, $2)';

export interface ClientSettings {
  prepared: boolean;
  statementTimeoutMs: number;
  /** Called with a transaction's held wake-ups once its COMMIT has succeeded. */
  onCommitted?: (notes: readonly (readonly [channel: string, payload: string])[]) => void;
}

type Result = pg.QueryResult;
type Callback = (err: Error | null, result?: Result) => void;

const NOTHING: Result = { command: 'SELECT', rowCount: 0, oid: 0, fields: [], rows: [] };

/** Statement names derive from the SQL text, so the same query always reuses its plan. */
const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `b_${createHash('sha1').update(text).digest('base64url')}`;
    // Texts are static (AGENTS.md), so this stays small; the bound only guards a mistake.
    if (statementNames.size >= 10_000) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

function isPlainQuery(c: unknown): c is { name?: string; text: string; values?: unknown[] } {
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof (c as { text?: unknown }).text === 'string' &&
    Object.keys(c).every((k) => k === 'name' || k === 'text' || k === 'values')
  );
}

/** A pg Client class for the pool, per the settings. */
export function clientClass(settings: ClientSettings): typeof pg.Client {
  const setTimeout = `set local statement_timeout = ${Math.trunc(settings.statementTimeoutMs)}`;

  class BatonClient extends pg.Client {
    /** [channel, payload] of the open transaction's wake-ups. */
    private held: [string, string][] = [];

    override query(config: unknown, values?: unknown, callback?: unknown): never {
      if (typeof values === 'function') [callback, values] = [values, undefined];
      let text: string;
      if (typeof config === 'string') text = config;
      else if (isPlainQuery(config) && !(settings.prepared && config.name)) {
        // A query config ({name?, text, values}): routed like a string, its name dropped
        // in pooler-safe mode. Anything else (a cursor, rowMode) passes as it is.
        text = config.text;
        values = config.values;
      } else return (super.query as (...a: unknown[]) => never)(config, values, callback);
      const done = this.route(text, Array.isArray(values) ? values : undefined);
      if (typeof callback !== 'function') return done as never;
      done.then(
        (r) => (callback as Callback)(null, r),
        (e: unknown) => (callback as Callback)(e as Error),
      );
      return undefined as never;
    }

    /** Not async: the common path hands pg's own promise back, adding nothing per query. */
    private route(text: string, values: unknown[] | undefined): Promise<Result> {
      const status = this.getTransactionStatus();
      if (this.held.length > 0) {
        const held = this.held;
        // A transaction that ended without our COMMIT or ROLLBACK (a reset) left nothing.
        if (status === 'I' || text === 'rollback') this.held = [];
        else if (text === 'commit') {
          this.held = [];
          // A failed transaction rolls back on COMMIT; its wake-ups are dropped with it.
          if (status === 'T') return this.commitWith(held);
        }
      }
      if (text === NOTIFY_SQL && status === 'T' && values?.length === 2) {
        this.held.push([String(values[0]), String(values[1])]);
        return Promise.resolve(NOTHING);
      }
      if (settings.prepared) return this.prepared(text, values);
      if (status !== 'I') return this.raw(text, values);
      if (/^(begin|start transaction)\b/i.test(text) && !values?.length) {
        return this.raw(`${text}; ${setTimeout}`);
      }
      // A trivial statement needs no timeout and no transaction of its own.
      if (text === NOTIFY_SQL) return this.raw(text, values);
      return this.alone(text, values);
    }

    private async commitWith(held: [string, string][]): Promise<Result> {
      // NOTIFY, a utility command, is not planned: it costs the COMMIT next to nothing.
      const notes = held.map(
        ([channel, payload]) =>
          `notify ${this.escapeIdentifier(channel)}, ${this.escapeLiteral(payload)}`,
      );
      const result = await this.ending(() => this.raw(`${notes.join('; ')}; commit`));
      settings.onCommitted?.(held);
      return result;
    }

    /** A statement outside a transaction, in one of its own that carries the timeout. */
    private async alone(text: string, values: unknown[] | undefined): Promise<Result> {
      return this.ending(async () => {
        await this.raw(`begin; ${setTimeout}`);
        const result = await this.raw(text, values);
        await this.raw('commit');
        return result;
      });
    }

    /** Runs fn; if it fails inside a transaction, rolls that back so the connection is clean. */
    private async ending(fn: () => Promise<Result>): Promise<Result> {
      try {
        return await fn();
      } catch (err) {
        if (this.getTransactionStatus() !== 'I') await this.raw('rollback').catch(() => {});
        throw err;
      }
    }

    private prepared(text: string, values: unknown[] | undefined): Promise<Result> {
      // Multi-statement text (migrations, a folded COMMIT) cannot be prepared.
      if (values && text.length < 16_384 && !text.includes(';')) {
        return super.query({ name: statementName(text), text, values });
      }
      return this.raw(text, values);
    }

    private raw(text: string, values?: unknown[]): Promise<Result> {
      return super.query(text, values);
    }
  }
  return BatonClient;
}
