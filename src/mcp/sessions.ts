import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { closeSession, openSessionWithinLimit } from '../db/sessions.js';
import { authenticate } from '../http/auth.js';
import { INSTRUCTIONS, SERVER_INFO } from './instructions.js';
import { headerOf, refuse, type Params } from './jsonrpc.js';
import { refuseModern } from './modern-request.js';
import { HEADER, LEGACY_PROTOCOL_VERSIONS, RPC_ERROR } from './protocol.js';
import type { Authenticated, McpDeps } from './transport.js';

// Sessions of the 2025 era: `initialize` opens one (a database row bound to the participation
// that opened it, so any process can serve it), later requests present it in Mcp-Session-Id,
// and DELETE ends it. The modern era has none.

export const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;

export const sessionHeader = (req: IncomingMessage) => headerOf(req, HEADER.sessionId);

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
      message:
        'Forbidden: this session belongs to another identity; initialize a session of your own',
    };
  }
  return undefined;
}

export async function initialize(
  params: Params,
  auth: Authenticated,
  deps: McpDeps,
  headers: Record<string, string>,
): Promise<string> {
  const requested = params.protocolVersion;
  const protocolVersion =
    typeof requested === 'string' && LEGACY_PROTOCOL_VERSIONS.some((v) => v === requested)
      ? requested
      : LEGACY_PROTOCOL_VERSIONS[0];
  const clientInfo = params.clientInfo as { name?: unknown } | undefined;
  const clientName =
    typeof clientInfo?.name === 'string'
      ? clientInfo.name.replace(/\u0000/g, '').slice(0, 200)
      : null;
  const id = randomBytes(18).toString('base64url');
  const { projectId, participationId } = auth.ctx;
  // Sessions per identity are bounded: the least recently used beyond the limit end here, and
  // so do their streams on this process (other processes end theirs at the next grant check).
  const ended = await openSessionWithinLimit(deps.db, {
    projectId,
    id,
    participationId,
    protocolVersion,
    clientName,
  });
  for (const id of ended) deps.streams.endSession(projectId, id);
  // Other processes forget them when the statement's notice reaches them; this one at once.
  if (ended.length > 0) deps.identities.forgetProject(projectId);
  headers[HEADER.sessionId] = id;
  deps.metrics?.sessionsInitialized.inc();
  return JSON.stringify({
    protocolVersion,
    // claude/channel: Claude Code listens for our pushes on the GET stream (spec §10).
    capabilities: { tools: { listChanged: false }, experimental: { 'claude/channel': {} } },
    serverInfo: SERVER_INFO,
    instructions: INSTRUCTIONS,
  });
}

export async function handleMcpDelete(
  req: IncomingMessage,
  res: ServerResponse,
  deps: McpDeps,
  requestId: string,
) {
  if (refuseModern(req, res)) return;
  const sessionId = sessionHeader(req);
  if (sessionId === undefined || !SESSION_ID.test(sessionId)) {
    return refuse(
      res,
      400,
      RPC_ERROR.invalidRequest,
      'Bad Request: send the Mcp-Session-Id of the session to end',
    );
  }
  const auth = await authenticate(req, res, deps, requestId, sessionId);
  if (!auth.ok && !auth.limited) return;
  const refusal = checkSession(auth);
  if (refusal) return refuse(res, refusal.status, refusal.code, refusal.message);
  if (await closeSession(deps.db, auth.ctx.projectId, auth.ctx.participationId, sessionId)) {
    deps.identities.forgetProject(auth.ctx.projectId);
  }
  deps.streams.endSession(auth.ctx.projectId, sessionId);
  res.writeHead(204).end();
}
