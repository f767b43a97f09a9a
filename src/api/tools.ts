import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../errors.js';
import type { McpDeps } from '../mcp/transport.js';
import { callTool } from '../tools/dispatch.js';
import { authenticate, rateLimited } from '../http/auth.js';
import { bytesCost, workCost } from '../http/ratelimit.js';
import { abortOnDisconnect, BodyTooLarge, readBody, sendError, sendRaw } from '../http/request.js';

// POST /api/v1/tools/<name>: every tool as plain JSON for hooks, scripts and curl. Same auth,
// same validation and the same dispatcher as MCP; errors map to statuses through ERROR_STATUS.

const TOOL_PATH = /^\/api\/v1\/tools\/([^/?#]+)$/;

export function matchToolPath(pathname: string): string | undefined {
  const m = TOOL_PATH.exec(pathname);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1] as string);
  } catch {
    // A malformed escape (`%zz`) names no tool: the edge answers not_found, never a URIError.
    return m[1] as string;
  }
}

export async function handleToolApi(
  req: IncomingMessage,
  res: ServerResponse,
  deps: McpDeps,
  requestId: string,
  name: string,
): Promise<void> {
  if (req.method !== 'POST') {
    return sendError(res, new AppError('invalid_argument', `use POST /api/v1/tools/${name}`), {
      allow: 'POST',
    });
  }
  const auth = await authenticate(req, res, deps, requestId);
  if (!auth.ok) return auth.limited ? sendError(res, rateLimited(auth.retryAfter)) : undefined;
  const tool = deps.catalogue.byName.get(name);
  if (!tool) {
    return sendError(
      res,
      new AppError(
        'not_found',
        `no tool named "${name.slice(0, 100)}"; see tools/list or docs/tools.md`,
      ),
    );
  }
  let args: unknown = {};
  try {
    const body = await readBody(req);
    deps.tokenLimiter.charge(auth.row.token_id, bytesCost(body.length));
    if (body.length > 0) args = JSON.parse(body.toString('utf8'));
  } catch (err) {
    if (err instanceof BodyTooLarge) {
      return sendError(
        res,
        new AppError('invalid_argument', 'request body exceeds 1 MiB; send shorter arguments'),
        { connection: 'close' },
        413,
      );
    }
    return sendError(
      res,
      new AppError('invalid_argument', `the body must be a JSON object: ${(err as Error).message}`),
    );
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return sendError(
      res,
      new AppError('invalid_argument', "the body must be a JSON object of the tool's arguments"),
    );
  }
  const outcome = await callTool(deps, auth.ctx, tool, args, abortOnDisconnect(res));
  const json = outcome.ok ? JSON.stringify(outcome.result) : '';
  deps.tokenLimiter.charge(auth.row.token_id, workCost(outcome.units) + bytesCost(json.length));
  if (!outcome.ok) return sendError(res, outcome.error);
  sendRaw(res, 200, json);
}
