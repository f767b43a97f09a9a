import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import { closeSession, insertSession } from '../db/sessions.js';
import { authenticate, rateLimitMessage, type AuthDeps } from '../http/auth.js';
import { abortOnDisconnect, BodyTooLarge, readBody, sendRaw } from '../http/request.js';
import type { Catalogue, Profile } from './catalogue.js';
import { callTool, type DispatchDeps } from '../tools/dispatch.js';
import { INSTRUCTIONS, SERVER_INFO } from './instructions.js';
import { RPC_ERROR } from './protocol.js';
import type { AuthRow } from '../db/identity.js';
import type { Ctx } from '../ctx.js';
import type { StreamHub } from '../http/streams.js';

// MCP Streamable HTTP, served without per-session server objects (spec §12): a session is one
// database row bound to the participation that opened it, so any Baton process can serve any
// request, and an idle session costs no memory here. POSTs are answered with one JSON body; GET
// opens the session's push stream (push.ts).

export interface McpDeps extends DispatchDeps, AuthDeps {
  catalogue: Catalogue;
  /** The live streams of this process (push, ledger subscriptions); set by the HTTP server. */
  streams?: StreamHub;
}

export interface Authenticated {
  ctx: Ctx;
  row: AuthRow;
  /** Set when the token's bucket is empty: requests are answered with rate_limited. */
  retryAfter?: number;
}

interface JsonRpcMessage {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

export const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;

export const rpcError = (id: JsonRpcMessage['id'], code: number, message: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message } });

const rpcResult = (id: JsonRpcMessage['id'], resultJson: string) =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id ?? null)},"result":${resultJson}}`;

function profileOf(req: IncomingMessage): Profile {
  const q = req.url?.indexOf('?') ?? -1;
  if (q < 0) return 'full';
  return new URLSearchParams(req.url?.slice(q + 1)).get('tools') === 'core' ? 'core' : 'full';
}

function isMessage(m: unknown): m is JsonRpcMessage {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  const o = m as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') return false;
  if ('method' in o)
    return (
      typeof o.method === 'string' && (!('id' in o) || ['string', 'number'].includes(typeof o.id))
    );
  return 'id' in o && ('result' in o || 'error' in o);
}

export function sessionHeader(req: IncomingMessage): string | undefined {
  const v = req.headers['mcp-session-id'];
  return typeof v === 'string' ? v : undefined;
}

export async function handleMcpPost(
  req: IncomingMessage,
  res: ServerResponse,
  deps: McpDeps,
  requestId: string,
) {
  const sessionId = sessionHeader(req);
  if (sessionId !== undefined && !SESSION_ID.test(sessionId)) {
    return sendRaw(
      res,
      400,
      rpcError(null, RPC_ERROR.invalidRequest, 'Bad Request: malformed Mcp-Session-Id header'),
    );
  }
  const outcome = await authenticate(req, res, deps, requestId, sessionId);
  if (!outcome.ok && !outcome.limited) return;
  const auth: Authenticated = outcome.ok
    ? outcome
    : { ctx: outcome.ctx, row: outcome.row, retryAfter: outcome.retryAfter };

  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (err) {
    if (err instanceof BodyTooLarge) {
      return sendRaw(
        res,
        413,
        rpcError(null, RPC_ERROR.invalidRequest, 'Request body exceeds 1 MiB'),
        {
          connection: 'close',
        },
      );
    }
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return sendRaw(
      res,
      400,
      rpcError(null, RPC_ERROR.parseError, `Parse error: ${(err as Error).message}`),
    );
  }
  const batch = Array.isArray(parsed);
  const messages: unknown[] = batch ? (parsed as unknown[]) : [parsed];
  if (messages.length === 0 || !messages.every(isMessage)) {
    return sendRaw(
      res,
      400,
      rpcError(null, RPC_ERROR.invalidRequest, 'Invalid Request: expected a JSON-RPC 2.0 message'),
    );
  }
  const initializing = messages.some((m) => m.method === 'initialize');
  if (initializing && messages.length > 1) {
    return sendRaw(
      res,
      400,
      rpcError(null, RPC_ERROR.invalidRequest, 'Invalid Request: initialize must be sent alone'),
    );
  }
  if (!initializing && sessionId !== undefined) {
    const refusal = checkSession(auth);
    if (refusal) return sendRaw(res, refusal.status, rpcError(null, refusal.code, refusal.message));
  }
  const version = req.headers['mcp-protocol-version'];
  if (
    !initializing &&
    typeof version === 'string' &&
    !SUPPORTED_PROTOCOL_VERSIONS.includes(version)
  ) {
    return sendRaw(
      res,
      400,
      rpcError(
        null,
        RPC_ERROR.invalidRequest,
        `Bad Request: unsupported MCP-Protocol-Version ${version}; supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`,
      ),
    );
  }

  const headers: Record<string, string> = {};
  const replies: string[] = [];
  const signal = abortOnDisconnect(res);
  for (const m of messages) {
    if (m.method === undefined || m.id === undefined) continue; // responses and notifications
    replies.push(await handleRequest(m, req, auth, deps, headers, signal));
  }
  if (replies.length === 0) {
    res.writeHead(202, headers).end();
    return;
  }
  sendRaw(res, 200, batch ? `[${replies.join(',')}]` : (replies[0] as string), headers);
}

export function checkSession(
  auth: Authenticated,
): { status: number; code: number; message: string } | undefined {
  const owner = auth.row.session_participation_id;
  if (owner === null || auth.row.session_closed) {
    return {
      status: 404,
      code: RPC_ERROR.sessionNotFound,
      message: 'Session not found: it ended or never existed; initialize a new one',
    };
  }
  if (owner !== auth.row.participation_id) {
    return {
      status: 403,
      code: RPC_ERROR.sessionNotFound,
      message: 'Forbidden: this session belongs to another identity',
    };
  }
  return undefined;
}

async function handleRequest(
  m: JsonRpcMessage,
  req: IncomingMessage,
  auth: Authenticated,
  deps: McpDeps,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<string> {
  const params = (typeof m.params === 'object' && m.params !== null ? m.params : {}) as Record<
    string,
    unknown
  >;
  if (auth.retryAfter !== undefined) return rateLimited(m, auth.retryAfter);
  switch (m.method) {
    case 'initialize':
      return rpcResult(m.id, await initialize(params, auth, deps, headers));
    case 'ping':
      return rpcResult(m.id, '{}');
    case 'tools/list':
      return rpcResult(m.id, deps.catalogue.listJson[profileOf(req)]);
    case 'tools/call':
      return toolsCall(m, params, req, auth, deps, signal);
    default:
      return rpcError(m.id, RPC_ERROR.methodNotFound, `Method not found: ${m.method}`);
  }
}

/** A tool call gets an isError result the model can act on; anything else a JSON-RPC error. */
function rateLimited(m: JsonRpcMessage, retryAfter: number): string {
  const message = rateLimitMessage(retryAfter);
  if (m.method !== 'tools/call') return rpcError(m.id, RPC_ERROR.serverError, message);
  const error = { code: 'rate_limited', message, retry_after_seconds: retryAfter };
  const text = JSON.stringify({ error });
  return rpcResult(
    m.id,
    `{"content":[{"type":"text","text":${JSON.stringify(text)}}],"structuredContent":${text},"isError":true}`,
  );
}

async function initialize(
  params: Record<string, unknown>,
  auth: Authenticated,
  deps: McpDeps,
  headers: Record<string, string>,
): Promise<string> {
  const requested = params.protocolVersion;
  const protocolVersion =
    typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
      ? requested
      : LATEST_PROTOCOL_VERSION;
  const clientInfo = params.clientInfo as { name?: unknown } | undefined;
  const clientName =
    typeof clientInfo?.name === 'string'
      ? clientInfo.name.replace(/\u0000/g, '').slice(0, 200)
      : null;
  const id = randomBytes(18).toString('base64url');
  await insertSession(deps.db, {
    projectId: auth.ctx.projectId,
    id,
    participationId: auth.ctx.participationId,
    protocolVersion,
    clientName,
  });
  headers['mcp-session-id'] = id;
  deps.metrics?.sessionsInitialized.inc();
  return JSON.stringify({
    protocolVersion,
    // claude/channel: Claude Code listens for our pushes on the GET stream (spec §10).
    capabilities: { tools: { listChanged: false }, experimental: { 'claude/channel': {} } },
    serverInfo: SERVER_INFO,
    instructions: INSTRUCTIONS,
  });
}

async function toolsCall(
  m: JsonRpcMessage,
  params: Record<string, unknown>,
  req: IncomingMessage,
  auth: Authenticated,
  deps: McpDeps,
  signal: AbortSignal,
): Promise<string> {
  const name = params.name;
  const tool = typeof name === 'string' ? deps.catalogue.byName.get(name) : undefined;
  if (!tool || !deps.catalogue.inProfile(profileOf(req), tool.name)) {
    return rpcError(m.id, RPC_ERROR.invalidParams, `Unknown tool: ${String(name).slice(0, 100)}`);
  }
  const outcome = await callTool(deps, auth.ctx, tool, params.arguments, signal);
  const structured = outcome.ok ? outcome.result : { error: outcome.error.toJSON() };
  const text = JSON.stringify(structured);
  return rpcResult(
    m.id,
    `{"content":[{"type":"text","text":${JSON.stringify(text)}}],"structuredContent":${text}${outcome.ok ? '' : ',"isError":true'}}`,
  );
}

export async function handleMcpDelete(
  req: IncomingMessage,
  res: ServerResponse,
  deps: McpDeps,
  requestId: string,
) {
  const sessionId = sessionHeader(req);
  if (sessionId === undefined || !SESSION_ID.test(sessionId)) {
    return sendRaw(
      res,
      400,
      rpcError(
        null,
        RPC_ERROR.invalidRequest,
        'Bad Request: send the Mcp-Session-Id of the session to end',
      ),
    );
  }
  const auth = await authenticate(req, res, deps, requestId, sessionId);
  if (!auth.ok && !auth.limited) return;
  const refusal = checkSession(auth);
  if (refusal) return sendRaw(res, refusal.status, rpcError(null, refusal.code, refusal.message));
  await closeSession(deps.db, auth.ctx.projectId, auth.ctx.participationId, sessionId);
  deps.streams?.endSession(auth.ctx.projectId, sessionId);
  res.writeHead(204).end();
}
