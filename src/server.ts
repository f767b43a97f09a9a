import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminHandler, type AdminHandler } from './admin/router.js';
import { ClaimQueue } from './db/claim-queue.js';
import { AppError, toAppError } from './errors.js';
import { handleMcpGet } from './mcp/push.js';
import { handleMcpDelete } from './mcp/sessions.js';
import { handleMcpPost, type McpDeps } from './mcp/transport.js';
import { handleToolApi, matchToolPath } from './api/tools.js';
import { handleEvents } from './api/events.js';
import { handleHealthz, handleReadyz } from './http/health.js';
import { handleJoin } from './api/join.js';
import { handleMetrics, routeOf } from './http/metrics.js';
import { handleResourceMetadata } from './http/metadata.js';
import { IdentityMemory, type IdentityPeers } from './http/identity-memory.js';
import { RateLimiter } from './http/ratelimit.js';
import { requestIdOf, sendError, sendJson } from './http/request.js';
import { StreamHub } from './http/streams.js';

export interface AppDeps extends McpDeps {
  /** Per client address on /join: 10 a minute (spec §8). */
  joinLimiter: RateLimiter;
  /** The web admin and board (src/admin/). */
  admin: AdminHandler;
}

// The hand-rolled HTTP server: one routing table, a request id on every response and log line,
// JSON errors only, limits against slow clients, and a graceful close.

export interface BatonHttp {
  server: http.Server;
  /** The event streams open on this process. */
  streams: StreamHub;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish for up to graceMs, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

const CORS_HEADERS =
  'authorization, content-type, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id, x-request-id';

export type ServerDeps = Omit<McpDeps, 'tokenLimiter' | 'streams' | 'claims' | 'identities'> & {
  /** Heartbeat of event streams; tests shorten it. */
  streamHeartbeatMs?: number;
  /** The other workers of this `baton serve` (src/cluster.ts), if any. */
  identityPeers?: IdentityPeers;
};

export function createHttpServer(input: ServerDeps): BatonHttp {
  const streams = new StreamHub({
    db: input.db,
    listener: input.listener,
    log: input.log,
    metrics: input.metrics,
    heartbeatMs: input.streamHeartbeatMs,
  });
  const identities = new IdentityMemory({
    listener: input.listener,
    pool: input.pool,
    peers: input.identityPeers,
  });
  input.metrics?.countResolutions(identities.resolved);
  const deps: AppDeps = {
    ...input,
    tokenLimiter: new RateLimiter(input.config.rateLimit, input.config.rateLimit * 5),
    joinLimiter: new RateLimiter(10 / 60, 10),
    identities,
    claims: new ClaimQueue(input.db),
    streams,
    admin: (req, res, requestId) => admin(req, res, requestId),
  };
  // The web pages act through the same dispatcher as the tools' edges, with the same claim queue.
  const admin = createAdminHandler(deps);
  const server = http.createServer({
    headersTimeout: 10_000, // a client must send its headers within 10 s
    requestTimeout: 30_000, // and its whole request within 30 s
    keepAliveTimeout: 30_000, // agents call every few seconds; keep their sockets
    connectionsCheckingInterval: 1_000, // enforce the two limits above promptly
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query < 0 ? url : url.slice(0, query);
    // Every request passes here: only what is logged is built, and metrics are plain counts.
    const debug = deps.log.isLevelEnabled('debug');
    const started = debug ? process.hrtime.bigint() : 0n;
    res.on('finish', () => {
      deps.metrics?.observeRequest(routeOf(pathname), res.statusCode);
      if (!debug) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.log.debug(
        { reqId: requestId, method: req.method, path: pathname, status: res.statusCode, ms },
        'request',
      );
    });
    route(req, res, deps, requestId, pathname).catch((err: unknown) => {
      const error = toAppError(err);
      if (error.code === 'internal') deps.log.error({ err, reqId: requestId }, 'request failed');
      else
        deps.log.warn(
          { reqId: requestId, code: error.code, reason: error.message },
          'request failed',
        );
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(
        res,
        error.code === 'internal'
          ? new AppError('internal', `internal error; quote request id ${requestId}`)
          : error,
      );
    });
  });
  // A bad or too-slow request gets its 4xx and the connection is cut: a client that never
  // reads must not keep a half-closed socket alive.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : 400;
    const body = JSON.stringify({
      error: {
        code: 'invalid_argument',
        message: `malformed or too slow request (${err.code ?? 'bad request'})`,
      },
    });
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  });

  return {
    server,
    streams,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: (graceMs = 4_000) =>
      new Promise((resolve) => {
        // Streams never finish by themselves: end them first, so their clients reconnect (to
        // another process) and resume, and the server can close within the grace period.
        streams.close();
        identities.close();
        if (!server.listening) return resolve();
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        // A keep-alive connection whose request finishes during the grace period (a long-poll
        // ended by shutdown) goes idle afterwards; close those as they appear, not at the end.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        sweep.unref();
        server.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  deps: AppDeps,
  requestId: string,
  pathname: string,
): Promise<void> {
  if (!decodable(pathname)) {
    // `%zz`, or escapes that are not UTF-8: no route has such a name. Answered before anything
    // reads the path further, so no edge ever meets a URIError.
    return sendError(res, new AppError('not_found', 'no such path: it has a malformed %-escape'));
  }
  const isMcp = pathname === '/mcp';
  const toolName = matchToolPath(pathname);
  const isEvents = pathname === '/api/v1/events';

  if (isMcp || isEvents || toolName !== undefined) {
    if (!originAllowed(req, deps)) {
      return sendError(
        res,
        new AppError('forbidden', 'this Origin is not allowed; add it to ALLOWED_ORIGINS'),
      );
    }
    if (req.method === 'OPTIONS') return preflight(req, res);
    corsHeaders(req, res);
  }

  if (isMcp) {
    if (req.method === 'POST') return handleMcpPost(req, res, deps, requestId);
    if (req.method === 'GET') return handleMcpGet(req, res, deps, requestId);
    if (req.method === 'DELETE') return handleMcpDelete(req, res, deps, requestId);
    return sendJson(
      res,
      405,
      { error: { code: 'invalid_argument', message: 'use POST, GET or DELETE on /mcp' } },
      { allow: 'POST, GET, DELETE' },
    );
  }
  if (toolName !== undefined) return handleToolApi(req, res, deps, requestId, toolName);
  if (isEvents) return handleEvents(req, res, deps, requestId);
  if (pathname === '/join') return handleJoin(req, res, deps);
  if (pathname === '/admin' || pathname.startsWith('/admin/')) {
    return deps.admin(req, res, requestId);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendError(
      res,
      new AppError('not_found', `no route for ${req.method} ${pathname.slice(0, 200)}`),
    );
  }
  switch (pathname) {
    case '/healthz':
      return handleHealthz(res);
    case '/readyz':
      return handleReadyz(res, deps.db, deps.listener);
    case '/metrics':
      if (!deps.metrics) break;
      return handleMetrics(req, res, deps.metrics, deps.config);
    case '/.well-known/oauth-protected-resource':
    case '/.well-known/oauth-protected-resource/mcp':
      return handleResourceMetadata(res, deps.config);
    case '/':
      return sendJson(res, 200, {
        name: 'Baton',
        mcp: `${deps.config.publicUrl}/mcp`,
        api: `${deps.config.publicUrl}/api/v1/tools/<name>`,
      });
    default:
      return sendError(
        res,
        new AppError('not_found', `no route for GET ${pathname.slice(0, 200)}`),
      );
  }
}

function decodable(pathname: string): boolean {
  if (!pathname.includes('%')) return true;
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false;
  }
}

/**
 * DNS-rebinding protection: a browser request (it carries Origin) is served only from our own
 * origin or ALLOWED_ORIGINS. Non-browser clients send no Origin and are unaffected.
 */
function originAllowed(req: IncomingMessage, deps: McpDeps): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (deps.config.allowedOrigins.has(origin)) return true;
  try {
    return new URL(deps.config.publicUrl).origin === origin;
  } catch {
    return false;
  }
}

function corsHeaders(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  if (!origin) return;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('vary', 'origin');
  res.setHeader(
    'access-control-expose-headers',
    'mcp-session-id, www-authenticate, x-request-id, retry-after',
  );
}

function preflight(req: IncomingMessage, res: ServerResponse): void {
  corsHeaders(req, res);
  res.writeHead(204, {
    'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
    'access-control-allow-headers': CORS_HEADERS,
    'access-control-max-age': '600',
  });
  res.end();
}
