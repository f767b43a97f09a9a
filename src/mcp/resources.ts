import type { Ctx } from '../ctx.js';
import { callTool } from '../tools/dispatch.js';
import type { Params } from './jsonrpc.js';
import type { Disconnected } from '../http/request.js';
import { bytesCost, workCost } from '../http/ratelimit.js';
import { RESOURCE_URI, RPC_ERROR } from './protocol.js';
import type { Authenticated, McpDeps } from './transport.js';

// The caller's views as MCP resources (modern era), what a listening client subscribes to for
// push. Each is one read tool with fixed arguments, run through the one dispatcher: reading the
// inbox is read_posts(to_me, unacked_only), so it records delivery exactly as that tool does,
// and the resource can never drift from what the tool shows.

interface ResourceDef {
  uri: string;
  name: string;
  title: string;
  description: string;
  tool: string;
  args(ctx: Ctx): Params;
}

const RESOURCES: readonly ResourceDef[] = [
  {
    uri: RESOURCE_URI.inbox,
    name: 'inbox',
    title: 'Inbox',
    description:
      'Posts to you not yet acknowledged, newest first (read_posts to_me, unacked_only). Reading marks them delivered; ack them once handled.',
    tool: 'read_posts',
    args: () => ({ to_me: true, unacked_only: true }),
  },
  {
    uri: RESOURCE_URI.leases,
    name: 'leases',
    title: 'My leases',
    description:
      'Your live leases (who_holds actor: you). Updated when one expired and was taken over.',
    tool: 'who_holds',
    args: (ctx) => ({ actor: ctx.actor }),
  },
  {
    uri: RESOURCE_URI.tasks,
    name: 'tasks',
    title: 'My tasks',
    description: 'Tasks you own (list_tasks owner: you). Updated when one is assigned to you.',
    tool: 'list_tasks',
    args: (ctx) => ({ owner: ctx.actor }),
  },
];

const MIME = 'application/json';

/** `{"resources":[…]}`, the same for every caller. */
export const RESOURCES_LIST_JSON = JSON.stringify({
  resources: RESOURCES.map(({ uri, name, title, description }) => ({
    uri,
    name,
    title,
    description,
    mimeType: MIME,
  })),
});

export const isResourceUri = (uri: unknown): uri is string => RESOURCES.some((r) => r.uri === uri);

type Read = { result: string } | { error: { code: number; message: string; data?: unknown } };

/** resources/read: the view as one JSON text content, or the JSON-RPC error to answer. */
export async function readResource(
  uri: unknown,
  auth: Authenticated,
  deps: McpDeps,
  disconnected: Disconnected,
): Promise<Read> {
  const def = RESOURCES.find((r) => r.uri === uri);
  if (!def) {
    return {
      error: {
        code: RPC_ERROR.invalidParams,
        message: `Resource not found: ${String(uri).slice(0, 100)}; resources/list names ${RESOURCES.map((r) => r.uri).join(', ')}`,
      },
    };
  }
  const tool = deps.catalogue.byName.get(def.tool);
  if (!tool) {
    return { error: { code: RPC_ERROR.internalError, message: `${def.uri} is not served here` } };
  }
  const outcome = await callTool(deps, auth.ctx, tool, def.args(auth.ctx), disconnected);
  if (!outcome.ok) {
    deps.tokenLimiter.charge(auth.row.token_id, workCost(outcome.units));
    const error = outcome.error;
    return {
      error: { code: RPC_ERROR.internalError, message: error.message, data: error.toJSON() },
    };
  }
  const contents = [{ uri: def.uri, mimeType: MIME, text: JSON.stringify(outcome.result) }];
  const result = JSON.stringify({ contents });
  // Charged as a tools/call is: by the answer's size and the matching work it took.
  deps.tokenLimiter.charge(auth.row.token_id, bytesCost(result.length) + workCost(outcome.units));
  return { result };
}
