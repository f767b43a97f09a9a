import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { bearerToken, hashToken } from '../auth/tokens.js';
import { resolveToken, touchParticipation, type AuthRow } from '../db/identity.js';
import { touchSession } from '../db/sessions.js';
import type { Db, Storage } from '../db/pool.js';
import type { Logger } from '../log.js';
import { ctxOf, type Ctx } from '../ctx.js';
import { AppError, toAppError } from '../errors.js';
import type { IdentityMemory } from './identity-memory.js';
import type { RateLimiter } from './ratelimit.js';
import { sendJson } from './request.js';

// Bearer authentication for /mcp and /api. Identity comes from the token alone: no header,
// argument or session id can name a project or a participant.

export interface AuthDeps {
  db: Db;
  /** When given, the token lookup runs as a prepared statement on it (see resolveToken). */
  pool?: Storage['pool'];
  config: Readonly<Config>;
  log: Logger;
  tokenLimiter: RateLimiter;
  /**
   * Tokens this process resolved lately: resolved again from memory while the ledger listener
   * hears, and answered in MCP's terms while the database is away (identity-memory.ts).
   */
  identities: IdentityMemory;
}

export type AuthOutcome =
  | { ok: true; ctx: Ctx; row: AuthRow }
  | { ok: false; limited: true; retryAfter: number; ctx: Ctx; row: AuthRow }
  | { ok: false; limited: false };

function resourceMetadataUrl(config: Readonly<Config>): string {
  return `${config.publicUrl}/.well-known/oauth-protected-resource/mcp`;
}

const UNAUTHORIZED = {
  missing: 'send Authorization: Bearer <token>; ask a project admin for a token',
  invalid: 'the token is unknown or malformed; ask a project admin for a token',
  revoked: 'the token was revoked; ask a project admin for a new one',
  expired: 'the token expired; ask a project admin for a new one',
} as const;

function sendUnauthorized(
  res: ServerResponse,
  config: Readonly<Config>,
  reason: keyof typeof UNAUTHORIZED,
  message: string = UNAUTHORIZED[reason],
): void {
  let challenge = `Bearer resource_metadata="${resourceMetadataUrl(config)}"`;
  if (reason !== 'missing') {
    challenge += `, error="invalid_token", error_description="${message.replace(/"/g, "'")}"`;
  }
  sendJson(
    res,
    401,
    { error: { code: 'unauthorized', message } },
    { 'www-authenticate': challenge },
  );
}

const LIVENESS_DEBOUNCE_MS = 10_000;
const SESSION_DEBOUNCE_MS = 10 * 60_000;

/**
 * Resolves the request's token (and the MCP session it presents, if any) from memory when this
 * process may trust it, else with one query, and takes one request from the token's rate-limit
 * bucket. Sends the 401 itself when the token does not resolve; a rate-limited caller is left to
 * the edge, which answers in its own form.
 *
 * With `whileAway`, a database that cannot be reached does not fail the request when this
 * process verified the token (and session) lately: the identity comes from memory, so the MCP
 * edge can answer in MCP's terms (see identity-memory.ts).
 */
export async function authenticate(
  req: IncomingMessage,
  res: ServerResponse,
  deps: AuthDeps,
  requestId: string,
  sessionId?: string,
  opts: { whileAway?: boolean } = {},
): Promise<AuthOutcome> {
  const header = req.headers.authorization;
  const token = bearerToken(header);
  if (!token) {
    sendUnauthorized(res, deps.config, header ? 'invalid' : 'missing');
    return { ok: false, limited: false };
  }
  const hash = hashToken(token);
  const key = hash.toString('base64');
  const memory = deps.identities;
  let row = memory.trusted(key, sessionId);
  if (!row) {
    const mark = memory.mark();
    try {
      row = await resolveToken(deps.db, hash, sessionId, deps.pool);
    } catch (err) {
      const recalled = opts.whileAway ? memory.recall(key, sessionId) : undefined;
      if (!recalled || toAppError(err).code !== 'unavailable') throw err;
      return admit(deps, recalled, requestId);
    }
    memory.record(key, row, sessionId, mark);
  }
  if (!row) {
    sendUnauthorized(res, deps.config, 'invalid');
    return { ok: false, limited: false };
  }
  if (row.revoked) {
    sendUnauthorized(res, deps.config, 'revoked');
    return { ok: false, limited: false };
  }
  if (row.expired) {
    const when = row.expires_at ? ` at ${row.expires_at.toISOString()}` : '';
    sendUnauthorized(
      res,
      deps.config,
      'expired',
      `the token expired${when}; ask a project admin for a new one`,
    );
    return { ok: false, limited: false };
  }
  const admitted = admit(deps, row, requestId);
  if (!admitted.ok) return admitted;

  // Liveness is refreshed by any authenticated call, written at most once per 10 s; the write
  // is not awaited so it never slows the request it rides on.
  const now = Date.now();
  const stale = (d: Date | null) => !d || now - d.getTime() > LIVENESS_DEBOUNCE_MS;
  if (stale(row.last_seen_at) || stale(row.token_last_used_at)) {
    memory.livenessWritten(key, new Date(now));
    touchParticipation(deps.db, row.project_id, row.participation_id, row.token_id).catch(
      (err: unknown) => deps.log.warn({ err, reqId: requestId }, 'could not record liveness'),
    );
  }
  // A session's last use is kept coarsely (every 10 minutes), enough to prune idle ones.
  const sessionUsed = row.session_last_seen_at;
  if (
    sessionId &&
    row.session_participation_id === row.participation_id &&
    sessionUsed &&
    now - sessionUsed.getTime() > SESSION_DEBOUNCE_MS
  ) {
    memory.sessionUseWritten(key, sessionId, new Date(now));
    touchSession(deps.db, row.project_id, sessionId).catch((err: unknown) =>
      deps.log.warn({ err, reqId: requestId }, 'could not record session use'),
    );
  }
  return admitted;
}

/** A resolved identity takes one request from its token's rate-limit bucket. */
function admit(deps: AuthDeps, row: AuthRow, requestId: string): AuthOutcome {
  const ctx = ctxOf(row, requestId);
  const decision = deps.tokenLimiter.take(row.token_id);
  if (!decision.ok) return { ok: false, limited: true, retryAfter: decision.retryAfter, ctx, row };
  return { ok: true, ctx, row };
}

export function rateLimitMessage(retryAfter: number): string {
  return `too many requests for this token; retry in ${retryAfter} s`;
}

/** The REST edges' refusal for a token whose bucket is empty (sendError adds Retry-After). */
export function rateLimited(retryAfter: number): AppError {
  return new AppError('rate_limited', rateLimitMessage(retryAfter), {
    retry_after_seconds: retryAfter,
  });
}
