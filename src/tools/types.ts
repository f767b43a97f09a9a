import type { z } from 'zod';
import type { Config } from '../config.js';
import type { ClaimQueue } from '../db/claim-queue.js';
import type { Db, Trx } from '../db/pool.js';
import type { Acting } from '../access/acting.js';
import type { Ctx } from '../ctx.js';

export type { Ctx };

// What a tool is: one definition object. The dispatcher (src/tools/dispatch.ts) validates input,
// checks admin rights, opens the transaction and maps errors; a handler only does its work.

export interface ToolEnv {
  trx: Trx;
  ctx: Ctx;
  config: Readonly<Config>;
}

/** For `direct`: the pool itself, where each statement commits on its own. */
export interface DirectEnv {
  db: Db;
  /** The process's claim queue (src/db/claim-queue.ts). */
  claims: ClaimQueue;
  ctx: Ctx;
  config: Readonly<Config>;
}

/**
 * MCP's hints. A write states whether it is destructive, because MCP's default is "destructive"
 * and a client that confirms destructive tools would otherwise prompt on every additive call;
 * readOnlyHint is true exactly where nothing is written (liveness aside).
 */
export type Annotations =
  | { readOnlyHint: true }
  | { readOnlyHint: false; destructiveHint: boolean; idempotentHint?: boolean };

export interface ToolDef<S extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  /** Written for the model: what it does, when to use it, what comes back. */
  description: string;
  input: S;
  annotations: Annotations;
  /** In the core profile (`/mcp?tools=core`, spec §7): what an agent needs every day. */
  core?: true;
  /** Project admins only; everyone else gets `forbidden` before the handler runs. */
  admin?: boolean;
  handler: (env: ToolEnv, args: z.output<S>) => Promise<Record<string, unknown>>;
  /**
   * A write that is a single SQL statement for some arguments may skip BEGIN and COMMIT (two
   * round trips, and the time its row locks are held): `direct` runs that statement and returns
   * the result, already carrying `unread` (when above zero), or undefined to have `handler` run
   * in a transaction as usual. The statement must be atomic on its own.
   */
  direct?: (env: DirectEnv, args: z.output<S>) => Promise<Record<string, unknown> | undefined>;
  /**
   * Long-polling. When the call asks to wait (`seconds(args)` > 0) and the handler's result is
   * `idle`, the dispatcher waits, outside any transaction, until the project's ledger moves or
   * the time is up, then runs the handler again in a fresh transaction.
   */
  longPoll?: {
    seconds: (args: z.output<S>) => number;
    idle: (result: Record<string, unknown>) => boolean;
  };
}

/** Keeps the schema's type attached to the handler's arguments. */
export function defineTool<S extends z.ZodObject>(def: ToolDef<S>): ToolDef {
  return def as unknown as ToolDef;
}

/** The caller of an administrative tool, as src/access records who acted. */
export const acting = (ctx: Ctx): Acting => ({
  actor: ctx.actor,
  participationId: ctx.participationId,
  via: 'mcp',
});
