import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { bearerToken, hashToken } from '../auth/tokens.js';
import { resolveToken, touchParticipation, type AuthRow } from '../db/identity.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { Ctx } from '../tools/types.js';
import { sendJson } from './request.js';

// Bearer authentication for /mcp and /api. Identity comes from the token alone: no header,
// argument or session id can name a project or a participant.

export interface Authenticated {
  ctx: Ctx;
  row: AuthRow;
}

export function resourceMetadataUrl(config: Readonly<Config>): string {
  return `${config.publicUrl}/.well-known/oauth-protected-resource/mcp`;
}

export function sendUnauthorized(
  res: ServerResponse,
  config: Readonly<Config>,
  reason: 'missing' | 'invalid',
): void {
  const challenge =
    `Bearer resource_metadata="${resourceMetadataUrl(config)}"` +
    (reason === 'invalid'
      ? ', error="invalid_token", error_description="the token is unknown, expired or revoked"'
      : '');
  sendJson(
    res,
    401,
    {
      error: {
        code: 'unauthorized',
        message:
          reason === 'missing'
            ? 'send Authorization: Bearer <token>; ask a project admin for a token'
            : 'the token is unknown, expired or revoked; ask a project admin for a new one',
      },
    },
    { 'www-authenticate': challenge },
  );
}

const LIVENESS_DEBOUNCE_MS = 10_000;

/**
 * Resolves the request's token (and the MCP session it presents, if any) with one query. Sends
 * the 401 itself and returns undefined when the token does not resolve.
 */
export async function authenticate(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { db: Db; config: Readonly<Config>; log: Logger },
  requestId: string,
  sessionId?: string,
): Promise<Authenticated | undefined> {
  const header = req.headers.authorization;
  const token = bearerToken(header);
  if (!token) {
    sendUnauthorized(res, deps.config, header ? 'invalid' : 'missing');
    return undefined;
  }
  const row = await resolveToken(deps.db, hashToken(token), sessionId);
  if (!row) {
    sendUnauthorized(res, deps.config, 'invalid');
    return undefined;
  }
  // Liveness is refreshed by any authenticated call, written at most once per 10 s; the write
  // is not awaited so it never slows the request it rides on.
  const now = Date.now();
  const stale = (d: Date | null) => !d || now - d.getTime() > LIVENESS_DEBOUNCE_MS;
  if (stale(row.last_seen_at) || stale(row.token_last_used_at)) {
    touchParticipation(deps.db, row.project_id, row.participation_id, row.token_id).catch(
      (err: unknown) => deps.log.warn({ err, reqId: requestId }, 'could not record liveness'),
    );
  }
  return {
    row,
    ctx: {
      projectId: row.project_id,
      projectSlug: row.project_slug,
      participationId: row.participation_id,
      participantId: row.participant_id,
      handle: row.handle,
      label: row.label,
      actor: `${row.handle}/${row.label}`,
      kind: row.kind,
      lane: row.lane,
      isAdmin: row.is_admin,
      requestId,
    },
  };
}
