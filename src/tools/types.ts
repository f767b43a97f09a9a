import type { z } from 'zod';
import type { Config } from '../config.js';
import type { Trx } from '../db/pool.js';

// What a tool is: one definition object. The dispatcher (src/mcp/dispatch.ts) validates input,
// checks admin rights, opens the transaction and maps errors; a handler only does its work.

export interface Ctx {
  projectId: string;
  projectSlug: string;
  participationId: string;
  participantId: string;
  handle: string;
  label: string;
  /** `handle/label`, how this identity is shown everywhere */
  actor: string;
  kind: 'agent' | 'human';
  lane: string | null;
  isAdmin: boolean;
  requestId: string;
}

export interface ToolEnv {
  trx: Trx;
  ctx: Ctx;
  config: Readonly<Config>;
}

export interface Annotations {
  readOnlyHint: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
}

export interface ToolDef<S extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  /** Written for the model: what it does, when to use it, what comes back. */
  description: string;
  input: S;
  annotations: Annotations;
  /** Project admins only; everyone else gets `forbidden` before the handler runs. */
  admin?: boolean;
  handler: (env: ToolEnv, args: z.output<S>) => Promise<Record<string, unknown>>;
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
