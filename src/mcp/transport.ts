import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, rateLimitMessage, type AuthDeps } from '../http/auth.js';
import { bytesCost } from '../http/ratelimit.js';
import {
  abortOnDisconnect,
  BodyTooLarge,
  readBody,
  sendRaw,
  type Disconnected,
} from '../http/request.js';
import type { StreamHub } from '../http/streams.js';
import type { DispatchDeps } from '../tools/dispatch.js';
import type { AuthRow } from '../db/identity.js';
import type { Ctx } from '../ctx.js';
import type { Catalogue } from './catalogue.js';
import {
  isMessage,
  headerOf,
  isRequest,
  paramsOf,
  profileOf,
  rateLimitedToolResult,
  refuse,
  rpcError,
  rpcResult,
  toolsCall,
  type JsonRpcMessage,
  unsupportedVersion,
} from './jsonrpc.js';
import { claimsModern, handleModernPost } from './modern.js';
import { checkSession, initialize, SESSION_ID, sessionHeader } from './sessions.js';
import {
  DEFAULT_LEGACY_VERSION,
  FIRST_VERSION_WITHOUT_BATCHES,
  HEADER,
  isModernVersion,
  LEGACY_PROTOCOL_VERSIONS,
  RPC_ERROR,
} from './protocol.js';

// MCP Streamable HTTP on one endpoint, in both eras, chosen per request: a request whose
// MCP-Protocol-Version header (or `_meta`) names the modern revision is served statelessly
// (modern.ts); everything else as the 2025 revisions have it, below: `initialize` opens a
// session, and later requests present it.
//
// A 2025 session is one database row bound to the participation that opened it (spec §12), so
// any Baton process can serve any request, and an idle session costs no memory here. POSTs are
// answered with one JSON body; GET opens the session's push stream (push.ts).

export interface McpDeps extends DispatchDeps, AuthDeps {
  catalogue: Catalogue;
  /** The live streams of this process (push, ledger subscriptions); set by the HTTP server. */
  streams: StreamHub;
}

export interface Authenticated {
  ctx: Ctx;
  row: AuthRow;
  /** Set when the token's bucket is empty: requests are answered with rate_limited. */
  retryAfter?: number;
}

/**
 * The largest body a rate-limited caller's request is read and parsed for, so that its refusal
 * can be a tool result carrying the request's id; a larger one is refused with HTTP 429 unread.
 */
export const LIMITED_BODY_BYTES = 64 * 1024;

function declaredLength(req: IncomingMessage): number {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) ? declared : 0;
}

/** Messages in one JSON-RPC batch (2025-03-26 and older sessions); each is charged as a request. */
export const MAX_BATCH_MESSAGES = 1_000;

export async function handleMcpPost(
  req: IncomingMessage,
  res: ServerResponse,
  deps: McpDeps,
  requestId: string,
) {
  const version = headerOf(req, HEADER.protocolVersion);
  // The modern era has no sessions: an Mcp-Session-Id sent with it is ignored.
  const modern = version !== undefined && isModernVersion(version);
  const sessionId = modern ? undefined : sessionHeader(req);
  if (sessionId !== undefined && !SESSION_ID.test(sessionId)) {
    return refuse(
      res,
      400,
      RPC_ERROR.invalidRequest,
      'Bad Request: malformed Mcp-Session-Id header',
    );
  }
  const outcome = await authenticate(req, res, deps, requestId, sessionId, { whileAway: true });
  if (!outcome.ok && !outcome.limited) return;
  const auth: Authenticated = outcome.ok
    ? outcome
    : { ctx: outcome.ctx, row: outcome.row, retryAfter: outcome.retryAfter };

  // A rate-limited caller's large body is refused without reading or parsing it: a token
  // flooding large requests past its limit costs the server next to nothing, whoever else it
  // serves.
  const limitedRefusal = (retryAfter: number) => {
    deps.tokenLimiter.charge(auth.row.token_id, bytesCost(declaredLength(req)));
    sendRaw(res, 429, rpcError(null, RPC_ERROR.serverError, rateLimitMessage(retryAfter)), {
      'retry-after': String(retryAfter),
    });
  };
  if (auth.retryAfter !== undefined && declaredLength(req) > LIMITED_BODY_BYTES) {
    return limitedRefusal(auth.retryAfter);
  }
  let body: Buffer;
  try {
    body = await readBody(req, auth.retryAfter === undefined ? undefined : LIMITED_BODY_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLarge)) throw err;
    if (auth.retryAfter !== undefined) return limitedRefusal(auth.retryAfter);
    return sendRaw(
      res,
      413,
      rpcError(
        null,
        RPC_ERROR.invalidRequest,
        'Request body exceeds 1 MiB; send shorter arguments or split the batch',
      ),
      {
        connection: 'close',
      },
    );
  }
  deps.tokenLimiter.charge(auth.row.token_id, bytesCost(body.length));
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return refuse(res, 400, RPC_ERROR.parseError, `Parse error: ${(err as Error).message}`);
  }
  if (modern || claimsModern(parsed)) {
    return handleModernPost(req, res, deps, auth, parsed, version);
  }
  return handleLegacyPost(req, res, deps, auth, parsed, { sessionId, version });
}

async function handleLegacyPost(
  req: IncomingMessage,
  res: ServerResponse,
  deps: McpDeps,
  auth: Authenticated,
  parsed: unknown,
  { sessionId, version }: { sessionId?: string; version?: string },
) {
  const batch = Array.isArray(parsed);
  const messages: unknown[] = batch ? (parsed as unknown[]) : [parsed];
  if (messages.length === 0 || !messages.every(isMessage)) {
    return refuse(
      res,
      400,
      RPC_ERROR.invalidRequest,
      'Invalid Request: expected a JSON-RPC 2.0 message',
    );
  }
  const initializing = messages.some((m) => m.method === 'initialize');
  if (initializing && messages.length > 1) {
    return refuse(
      res,
      400,
      RPC_ERROR.invalidRequest,
      'Invalid Request: initialize must be sent alone',
    );
  }
  if (!initializing && sessionId !== undefined) {
    const refusal = checkSession(auth);
    if (refusal) return refuse(res, refusal.status, refusal.code, refusal.message);
  }
  // initialize negotiates its version in the body; every other request must name one we serve.
  if (
    !initializing &&
    version !== undefined &&
    !LEGACY_PROTOCOL_VERSIONS.some((v) => v === version)
  ) {
    return sendRaw(res, 400, unsupportedVersion(messages[0]?.id, version));
  }
  let allowed = Number.POSITIVE_INFINITY;
  let batchRetryAfter = 0;
  if (batch) {
    const spoken =
      (sessionId && auth.row.session_protocol_version) || version || DEFAULT_LEGACY_VERSION;
    if (spoken >= FIRST_VERSION_WITHOUT_BATCHES) {
      return refuse(
        res,
        400,
        RPC_ERROR.invalidRequest,
        `Invalid Request: JSON-RPC batches were removed in protocol ${FIRST_VERSION_WITHOUT_BATCHES} and this session speaks ${spoken}; send one message per request`,
      );
    }
    if (messages.length > MAX_BATCH_MESSAGES) {
      return refuse(
        res,
        400,
        RPC_ERROR.invalidRequest,
        `Invalid Request: a batch holds at most ${MAX_BATCH_MESSAGES} messages; this one has ${messages.length}`,
      );
    }
    // Every request in a batch is charged to the token's bucket; authentication took the first.
    if (auth.retryAfter === undefined) {
      const wanted = Math.max(0, messages.filter(isRequest).length - 1);
      const taken = deps.tokenLimiter.takeUpTo(auth.row.token_id, wanted);
      allowed = 1 + taken.granted;
      batchRetryAfter = taken.retryAfter;
    }
  }

  const headers: Record<string, string> = {};
  const replies: string[] = [];
  const disconnected = abortOnDisconnect(res);
  for (const m of messages) {
    if (!isRequest(m)) continue; // responses and notifications
    const retryAfter = auth.retryAfter ?? (replies.length >= allowed ? batchRetryAfter : undefined);
    replies.push(await handleRequest(m, req, auth, deps, headers, disconnected, retryAfter));
  }
  if (replies.length === 0) {
    res.writeHead(202, headers).end();
    return;
  }
  sendRaw(res, 200, batch ? `[${replies.join(',')}]` : (replies[0] as string), headers);
}

async function handleRequest(
  m: JsonRpcMessage,
  req: IncomingMessage,
  auth: Authenticated,
  deps: McpDeps,
  headers: Record<string, string>,
  disconnected: Disconnected,
  retryAfter: number | undefined,
): Promise<string> {
  const params = paramsOf(m);
  if (retryAfter !== undefined) {
    return m.method === 'tools/call'
      ? rpcResult(m.id, rateLimitedToolResult(retryAfter))
      : rpcError(m.id, RPC_ERROR.serverError, rateLimitMessage(retryAfter));
  }
  switch (m.method) {
    case 'initialize':
      return rpcResult(m.id, await initialize(params, auth, deps, headers));
    case 'ping':
      return rpcResult(m.id, '{}');
    case 'tools/list':
      return rpcResult(m.id, deps.catalogue.listJson[profileOf(req)]);
    case 'tools/call': {
      const out = await toolsCall(params, profileOf(req), auth, deps, disconnected);
      return 'result' in out
        ? rpcResult(m.id, out.result)
        : rpcError(m.id, out.error.code, out.error.message);
    }
    default:
      return rpcError(m.id, RPC_ERROR.methodNotFound, `Method not found: ${m.method}`);
  }
}
