import type { IncomingMessage, ServerResponse } from 'node:http';
import { rateLimitMessage } from '../http/auth.js';
import { bytesCost, workCost } from '../http/ratelimit.js';
import { sendRaw, type Disconnected } from '../http/request.js';
import { callTool } from '../tools/dispatch.js';
import type { Catalogue, Profile } from './catalogue.js';
import { RPC_ERROR, SUPPORTED_PROTOCOL_VERSIONS } from './protocol.js';
import type { Authenticated, McpDeps } from './transport.js';

// JSON-RPC pieces both eras of the transport share: message shapes, replies as JSON text (results
// are spliced from prebuilt strings, never re-serialised), and the one tools/call path.

export interface JsonRpcMessage {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

export type Params = Record<string, unknown>;

export const rpcError = (id: JsonRpcMessage['id'], code: number, message: string, data?: unknown) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: id ?? null,
    error: data === undefined ? { code, message } : { code, message, data },
  });

export const rpcResult = (id: JsonRpcMessage['id'], resultJson: string) =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id ?? null)},"result":${resultJson}}`;

/** Answers a request that cannot be taken further with a JSON-RPC error and no id. */
export const refuse = (res: ServerResponse, status: number, code: number, message: string) =>
  sendRaw(res, status, rpcError(null, code, message));

/** An UnsupportedProtocolVersion error, so that a probing client learns what to retry with. */
export function unsupportedVersion(id: JsonRpcMessage['id'], requested: string): string {
  const shown = requested.slice(0, 40);
  return rpcError(
    id,
    RPC_ERROR.unsupportedProtocolVersion,
    `Unsupported protocol version ${shown}; supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`,
    { supported: SUPPORTED_PROTOCOL_VERSIONS, requested: shown },
  );
}

/** Adds members (JSON text without braces) to a result object given as JSON text. */
export const withMembers = (objectJson: string, members: string) =>
  objectJson === '{}' ? `{${members}}` : `${objectJson.slice(0, -1)},${members}}`;

/** A request header as one string; absent (or sent twice) is undefined. */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

export function isMessage(m: unknown): m is JsonRpcMessage {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  const o = m as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') return false;
  if ('method' in o)
    return (
      typeof o.method === 'string' && (!('id' in o) || ['string', 'number'].includes(typeof o.id))
    );
  return 'id' in o && ('result' in o || 'error' in o);
}

export const isRequest = (m: JsonRpcMessage) => m.method !== undefined && m.id !== undefined;

export function paramsOf(m: JsonRpcMessage): Params {
  return typeof m.params === 'object' && m.params !== null && !Array.isArray(m.params)
    ? (m.params as Params)
    : {};
}

export function profileOf(req: IncomingMessage): Profile {
  const q = req.url?.indexOf('?') ?? -1;
  if (q < 0) return 'full';
  return new URLSearchParams(req.url?.slice(q + 1)).get('tools') === 'core' ? 'core' : 'full';
}

/** A tool result: the structured object, the same JSON as one text block, and isError. */
function toolResultJson(structured: unknown, isError: boolean): string {
  const text = JSON.stringify(structured);
  return `{"content":[{"type":"text","text":${JSON.stringify(text)}}],"structuredContent":${text}${isError ? ',"isError":true' : ''}}`;
}

/** A rate-limited tool call is a result the model can act on, not a transport failure. */
export function rateLimitedToolResult(retryAfter: number): string {
  const message = rateLimitMessage(retryAfter);
  return toolResultJson(
    { error: { code: 'rate_limited', message, retry_after_seconds: retryAfter } },
    true,
  );
}

/** tools/call in either era: the result JSON, or the JSON-RPC error for an unknown tool. */
export async function toolsCall(
  params: Params,
  profile: Profile,
  auth: Authenticated,
  deps: McpDeps,
  disconnected: Disconnected,
): Promise<{ result: string } | { error: { code: number; message: string } }> {
  const tool = findTool(deps.catalogue, profile, params.name);
  if (!tool) {
    const named = String(params.name).slice(0, 100);
    const elsewhere = typeof params.name === 'string' && deps.catalogue.byName.has(params.name);
    return {
      error: {
        code: RPC_ERROR.invalidParams,
        message: elsewhere
          ? `Unknown tool: ${named} is not in the core profile; connect without ?tools=core to use it`
          : `Unknown tool: ${named}; tools/list names the tools`,
      },
    };
  }
  const outcome = await callTool(deps, auth.ctx, tool, params.arguments, disconnected);
  const result = outcome.ok
    ? toolResultJson(outcome.result, false)
    : toolResultJson({ error: outcome.error.toJSON() }, true);
  deps.tokenLimiter.charge(auth.row.token_id, bytesCost(result.length) + workCost(outcome.units));
  return { result };
}

function findTool(catalogue: Catalogue, profile: Profile, name: unknown) {
  const tool = typeof name === 'string' ? catalogue.byName.get(name) : undefined;
  return tool && catalogue.inProfile(profile, tool.name) ? tool : undefined;
}
