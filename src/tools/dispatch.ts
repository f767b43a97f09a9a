import type { z } from 'zod';
import type { Config } from '../config.js';
import { AppError, invalid, toAppError } from '../errors.js';
import type { Logger } from '../log.js';
import { watchProject, type LedgerListener } from '../db/notify.js';
import { transact, type Db } from '../db/pool.js';
import type { ClaimQueue } from '../db/claim-queue.js';
import { countUnacked } from '../db/posts.js';
import type { Ctx } from '../ctx.js';
import type { ToolDef } from './types.js';
import type { Metrics } from '../metrics.js';

// The one dispatcher behind both edges (MCP tools/call and POST /api/v1/tools/<name>): validate
// once, check admin rights, run the handler in one transaction with {trx, ctx}, and turn every
// failure into an AppError. Handlers never parse input and never open transactions.
//
// Two things every tool gets from here: write results carry `unread` (spec §6), counted right
// after the commit; and long-polling tools wait between short transactions, never inside one.

export interface DispatchDeps {
  db: Db;
  config: Readonly<Config>;
  log: Logger;
  /** Wake-ups for long-polls: committed ledger events, per project. */
  listener: LedgerListener;
  metrics?: Metrics;
  /** Claims on one sequence, taken together when they arrive together. */
  claims: ClaimQueue;
}

type Outcome = { ok: true; result: Record<string, unknown> } | { ok: false; error: AppError };

/** What a call came to, and the lease-matching work it did (leases/work.ts) for the edge to charge. */
export type CallOutcome = Outcome & { units: number };

export async function callTool(
  deps: DispatchDeps,
  ctx: Ctx,
  tool: ToolDef,
  rawArgs: unknown,
  /** Aborted when the client goes away; a long-poll then stops waiting. Asked for only then. */
  disconnected?: () => AbortSignal,
): Promise<CallOutcome> {
  const started = process.hrtime.bigint();
  const meter = { units: 0 };
  const outcome = await runTool(deps, { ...ctx, meter }, tool, rawArgs, disconnected);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  deps.metrics?.observeTool(tool.name, seconds, outcome.ok ? undefined : outcome.error.code);
  return Object.assign(outcome, { units: meter.units });
}

async function runTool(
  deps: DispatchDeps,
  ctx: Ctx,
  tool: ToolDef,
  rawArgs: unknown,
  disconnected: (() => AbortSignal) | undefined,
): Promise<Outcome> {
  const parsed = tool.input.safeParse(rawArgs ?? {});
  if (!parsed.success) return { ok: false, error: validationError(tool, parsed.error) };
  if (tool.admin && !ctx.isAdmin) {
    return {
      ok: false,
      error: new AppError(
        'forbidden',
        `${tool.name} is for project admins; ask an admin of ${ctx.projectSlug}`,
      ),
    };
  }
  const args = parsed.data;
  const runOnce = async () => {
    const direct = await tool.direct?.(
      { db: deps.db, claims: deps.claims, ctx, config: deps.config },
      args,
    );
    if (direct !== undefined) return direct;
    const result = await transact(deps.db, (trx) =>
      tool.handler({ trx, ctx, config: deps.config }, args),
    );
    if (tool.annotations.readOnlyHint) return result;
    // `unread` is counted after the commit, not inside the transaction: there it would lengthen
    // the time the write holds its row locks (every claim on a hot sequence queues on that
    // window) for a figure that is only informational. Counted after, it also reflects the
    // write itself (an ack). A failure here must not turn a committed write into an error.
    const unread = await countUnacked(deps.db, ctx.projectId, ctx.participationId).catch(() => 0);
    return unread > 0 ? { ...result, unread } : result;
  };
  try {
    const seconds = tool.longPoll?.seconds(args) ?? 0;
    const result =
      tool.longPoll && seconds > 0
        ? await longPoll(
            deps.listener,
            ctx.projectId,
            seconds,
            tool.longPoll.idle,
            runOnce,
            disconnected?.(),
          )
        : await runOnce();
    return { ok: true, result };
  } catch (err) {
    const error = toAppError(err);
    if (error.code === 'internal') {
      deps.log.error({ err, tool: tool.name, reqId: ctx.requestId }, 'tool failed');
      return {
        ok: false,
        error: new AppError('internal', `internal error; quote request id ${ctx.requestId}`),
      };
    }
    return { ok: false, error };
  }
}

/**
 * Runs the handler until it has something to say or the time is up. Between runs it holds no
 * connection and no transaction: it waits on the ledger listener for a commit in this project.
 * The watch starts before the first run, so an event committed between a run's read and the wait
 * still wakes it; a woken run reads in a new transaction, which sees that commit.
 */
async function longPoll(
  listener: LedgerListener,
  projectId: string,
  seconds: number,
  idle: (result: Record<string, unknown>) => boolean,
  runOnce: () => Promise<Record<string, unknown>>,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + seconds * 1000;
  const watch = watchProject(listener, projectId);
  try {
    for (;;) {
      const result = await runOnce();
      const left = deadline - Date.now();
      if (!idle(result) || left <= 0) return result;
      // Timed out, aborted (nobody to answer) or shutting down: the idle result stands.
      if ((await watch.next(left, signal)) !== 'woken') return result;
    }
  } finally {
    watch.close();
  }
}

function validationError(tool: ToolDef, error: z.ZodError): AppError {
  const fields = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const allowed = Object.keys(tool.input.shape);
      return {
        field: issue.keys.join(', '),
        problem: `unknown argument; ${tool.name} takes ${allowed.length ? allowed.join(', ') : 'no arguments'}`,
      };
    }
    const field = issue.path.length ? issue.path.join('.') : '(arguments)';
    const problem =
      issue.code === 'invalid_type' && /received undefined/.test(issue.message)
        ? `is required (${issue.expected})`
        : issue.message.replace(/^Invalid input: /, '');
    return { field, problem };
  });
  const message = fields.map((f) => `${f.field}: ${f.problem}`).join('; ');
  return invalid(`invalid arguments for ${tool.name}: ${message}`, { fields });
}
