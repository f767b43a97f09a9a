import type { IncomingMessage, ServerResponse } from 'node:http';
import { rateLimitMessage } from '../http/auth.js';
import { abortOnDisconnect, sendRaw } from '../http/request.js';
import { MODERN_INSTRUCTIONS, SERVER_INFO } from './instructions.js';
import {
  isRequest,
  paramsOf,
  profileOf,
  rateLimitedToolResult,
  rpcError,
  rpcResult,
  toolsCall,
  withMembers,
} from './jsonrpc.js';
import { openListen } from './listen.js';
import { checkModernRequest } from './modern-request.js';
import { META, MODERN_METHOD, RPC_ERROR, SUPPORTED_PROTOCOL_VERSIONS } from './protocol.js';
import { readResource, RESOURCES_LIST_JSON } from './resources.js';
import type { Authenticated, McpDeps } from './transport.js';

// The modern era (MCP 2026-07-28) on /mcp: stateless. Each POST is one request that carries its
// protocol version and the client's capabilities in `_meta` (checked in modern-request.ts);
// identity is the bearer token as in every era, and no session is opened or consulted. Every
// result says `resultType: "complete"` and names the server in `_meta`; lists carry `ttlMs` and
// `cacheScope`. Push is subscriptions/listen (listen.ts) over the caller's resources
// (resources.ts).

/** How long a client may reuse tools/list, resources/list and server/discover. */
const LIST_TTL_MS = 300_000;

const COMPLETE = `"resultType":"complete","_meta":${JSON.stringify({ [META.serverInfo]: SERVER_INFO })}`;
/** Results that depend on the caller's token are never for a shared cache. */
const cacheable = (ttlMs: number) => `"ttlMs":${ttlMs},"cacheScope":"private",${COMPLETE}`;

const DISCOVER_JSON = withMembers(
  JSON.stringify({
    supportedVersions: SUPPORTED_PROTOCOL_VERSIONS,
    capabilities: {
      tools: { listChanged: false },
      resources: { subscribe: true, listChanged: false },
    },
    instructions: MODERN_INSTRUCTIONS,
  }),
  cacheable(LIST_TTL_MS),
);

/** tools/list in this era: the prebuilt catalogue JSON, its tools untouched, and the envelope. */
export const modernToolsList = (listJson: string) => withMembers(listJson, cacheable(LIST_TTL_MS));

/** A single message whose `_meta` names a protocol version: a modern request, whatever its headers. */
export function claimsModern(parsed: unknown): boolean {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
  const params = (parsed as { params?: unknown }).params;
  if (typeof params !== 'object' || params === null) return false;
  const meta = (params as { _meta?: unknown })._meta;
  return typeof meta === 'object' && meta !== null && META.protocolVersion in meta;
}

export async function handleModernPost(
  req: IncomingMessage,
  res: ServerResponse,
  deps: McpDeps,
  auth: Authenticated,
  parsed: unknown,
  version: string | undefined,
): Promise<void> {
  const checked = checkModernRequest(req, parsed, version);
  if (!checked.ok) return sendRaw(res, checked.status, checked.json);
  const m = checked.message;
  if (!isRequest(m)) {
    res.writeHead(202).end();
    return;
  }
  const ok = (resultJson: string) => sendRaw(res, 200, rpcResult(m.id, resultJson));
  const params = paramsOf(m);
  if (auth.retryAfter !== undefined) {
    if (m.method === 'tools/call') {
      return ok(withMembers(rateLimitedToolResult(auth.retryAfter), COMPLETE));
    }
    return sendRaw(
      res,
      429,
      rpcError(m.id, RPC_ERROR.serverError, rateLimitMessage(auth.retryAfter)),
      { 'retry-after': String(auth.retryAfter) },
    );
  }
  switch (m.method) {
    case MODERN_METHOD.discover:
      return ok(DISCOVER_JSON);
    case 'tools/list':
      return ok(modernToolsList(deps.catalogue.listJson[profileOf(req)]));
    case 'tools/call': {
      const out = await toolsCall(params, profileOf(req), auth, deps, abortOnDisconnect(res));
      if ('error' in out)
        return sendRaw(res, 200, rpcError(m.id, out.error.code, out.error.message));
      return ok(withMembers(out.result, COMPLETE));
    }
    case 'resources/list':
      return ok(withMembers(RESOURCES_LIST_JSON, cacheable(LIST_TTL_MS)));
    case 'resources/templates/list':
      return ok(withMembers('{"resourceTemplates":[]}', cacheable(LIST_TTL_MS)));
    case 'resources/read': {
      const out = await readResource(params.uri, auth, deps, abortOnDisconnect(res));
      if ('error' in out) {
        const { code, message, data } = out.error;
        return sendRaw(res, 200, rpcError(m.id, code, message, data));
      }
      // Always read afresh: the views change with every post, lease and task.
      return ok(withMembers(out.result, cacheable(0)));
    }
    case MODERN_METHOD.listen:
      return openListen(req, res, deps, auth, m);
    default:
      return sendRaw(
        res,
        404,
        rpcError(
          m.id,
          RPC_ERROR.methodNotFound,
          `Method not found: ${String(m.method).slice(0, 100)}`,
        ),
      );
  }
}
