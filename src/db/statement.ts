import { CompiledQuery, type RawBuilder } from 'kysely';
import type { Executor } from './pool.js';

// Statements built once. Building a large statement from kysely's `sql` fragments and query
// builders, and compiling it, costs more per call than PostgreSQL takes to run it (about a
// millisecond for whats_new's). A `statement` builds and compiles its SQL on first use, with
// placeholders standing for its named parameters, and afterwards only binds values by name.
// Since the text never changes, the connection's prepared statement (pool.ts) is reused too.

const NAME = Symbol('parameter name');

interface Placeholder {
  readonly [NAME]: string;
}

const isPlaceholder = (v: unknown): v is Placeholder =>
  typeof v === 'object' && v !== null && NAME in v;

/** Placeholders for every parameter a builder reads. */
const placeholders = new Proxy(
  {},
  { get: (_, key) => (typeof key === 'string' ? { [NAME]: key } : undefined) },
);

export interface Statement<P, R> {
  run(db: Executor, params: P): Promise<R[]>;
}

/**
 * `build` receives placeholders for the parameters (and a database to build queries with) and
 * returns the statement. It must use a
 * parameter only where a value goes (never in arithmetic, string building or a branch: compute
 * such values before the call and pass them as parameters of their own), and must build the same
 * SQL every time; a statement with variants is one `statement` per variant.
 */
export function statement<P extends Record<string, unknown>, R>(
  build: (p: P, db: Executor) => RawBuilder<R>,
): Statement<P, R> {
  let compiled: { text: string; bind: ({ key: string } | { value: unknown })[] } | undefined;
  return {
    async run(db, params) {
      if (!compiled) {
        const c = build(placeholders as P, db).compile(db);
        compiled = {
          text: c.sql,
          bind: c.parameters.map((v) => (isPlaceholder(v) ? { key: v[NAME] } : { value: v })),
        };
      }
      const values = compiled.bind.map((b) => {
        if ('value' in b) return b.value;
        if (!(b.key in params)) throw new Error(`statement parameter ${b.key} was not given`);
        return params[b.key];
      });
      const { rows } = await db.executeQuery<R>(CompiledQuery.raw(compiled.text, values));
      return rows;
    },
  };
}
