import type { z } from 'zod';
import type { Config } from '../config.js';
import { AppError, invalid, toAppError } from '../errors.js';
import type { Logger } from '../log.js';
import { transact, type Db } from '../db/pool.js';
import type { Ctx, ToolDef } from '../tools/types.js';
import type { Metrics } from '../http/metrics.js';

// The one dispatcher behind both edges (MCP tools/call and POST /api/v1/tools/<name>): validate
// once, check admin rights, run the handler in one transaction with {trx, ctx}, and turn every
// failure into an AppError. Handlers never parse input and never open transactions.

export interface DispatchDeps {
  db: Db;
  config: Readonly<Config>;
  log: Logger;
  metrics?: Metrics;
}

export type CallOutcome =
  { ok: true; result: Record<string, unknown> } | { ok: false; error: AppError };

async function runTool(
  deps: DispatchDeps,
  ctx: Ctx,
  tool: ToolDef,
  rawArgs: unknown,
): Promise<CallOutcome> {
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
  try {
    const result = await transact(deps.db, (trx) =>
      tool.handler({ trx, ctx, config: deps.config }, parsed.data),
    );
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

export async function callTool(
  deps: DispatchDeps,
  ctx: Ctx,
  tool: ToolDef,
  rawArgs: unknown,
): Promise<CallOutcome> {
  const started = process.hrtime.bigint();
  const outcome = await runTool(deps, ctx, tool, rawArgs);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  deps.metrics?.observeTool(tool.name, seconds, outcome.ok ? undefined : outcome.error.code);
  return outcome;
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
