import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { grantAndMint } from '../auth/provision.js';
import { setupBlock } from '../auth/setup.js';
import { INVITE_PATTERN, hashToken } from '../auth/tokens.js';
import { AppError, forbidden, invalid, notFound } from '../errors.js';
import { lockInviteByCode, useInvite } from '../db/invites.js';
import { appendEvent } from '../db/ledger.js';
import { transact } from '../db/pool.js';
import { LABEL } from '../names.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { RateLimiter } from '../http/ratelimit.js';
import { BodyTooLarge, clientAddress, readBody, sendError, sendJson } from '../http/request.js';

// POST /join {code, name}: redeem an invite for a token of one's own. The invite row is locked
// for the whole transaction, so concurrent redeemers consume exactly its uses; any refusal
// (a taken name, say) rolls back and leaves the code unconsumed.

const JOIN_BODY = z.strictObject({
  code: z
    .string()
    .regex(INVITE_PATTERN, 'code: an invite code looks like baton_inv_ followed by 43 characters'),
  name: LABEL.optional(),
});

export interface JoinDeps {
  db: Db;
  config: Readonly<Config>;
  /** Per client address: 10 a minute (spec §8). */
  joinLimiter: RateLimiter;
}

export async function handleJoin(
  req: IncomingMessage,
  res: ServerResponse,
  deps: JoinDeps,
): Promise<void> {
  if (req.method !== 'POST') {
    return sendError(res, invalid('use POST /join with {"code": "...", "name": "..."}'), {
      allow: 'POST',
    });
  }
  const limit = deps.joinLimiter.take(clientAddress(req, deps.config));
  if (!limit.ok) {
    const error = new AppError(
      'rate_limited',
      `too many join attempts from this address; retry in ${limit.retryAfter} s`,
      { retry_after_seconds: limit.retryAfter },
    );
    return sendError(res, error);
  }
  let parsed: z.infer<typeof JOIN_BODY>;
  try {
    const body = JSON.parse((await readBody(req, 16 * 1024)).toString('utf8')) as unknown;
    const r = JOIN_BODY.safeParse(body);
    if (!r.success) {
      return sendError(
        res,
        invalid(
          r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        ),
      );
    }
    parsed = r.data;
  } catch (err) {
    if (err instanceof BodyTooLarge)
      return sendError(res, invalid('the body exceeds 16 KiB'), {}, 413);
    return sendError(res, invalid('the body must be JSON: {"code": "...", "name": "..."}'));
  }

  const result = await transact(deps.db, async (trx) => {
    const invite = await lockInviteByCode(trx, hashToken(parsed.code));
    if (!invite) throw notFound('unknown invite code; check it, or ask an admin for a new one');
    if (invite.revoked) throw forbidden('this invite was revoked; ask an admin for a new one');
    if (invite.expired)
      throw forbidden(
        `this invite expired at ${invite.expires_at.toISOString()}; ask an admin for a new one`,
      );
    if (invite.uses_left <= 0)
      throw forbidden('this invite has been used up; ask an admin for a new one');
    if (invite.label !== null && parsed.name !== undefined && parsed.name !== invite.label) {
      throw invalid(`this invite is for the name "${invite.label}"; omit name or send that one`);
    }
    const label = invite.label ?? parsed.name;
    if (label === undefined)
      throw invalid('name: choose a name (1–64 printable characters without "/")');
    const grant = await grantAndMint(trx, {
      projectId: invite.project_id,
      ownerId: invite.owner_id,
      ownerHandle: invite.owner_handle,
      label,
      kind: invite.kind,
      lane: invite.lane,
      isAdmin: invite.is_admin,
      requireNew: true,
    });
    await useInvite(trx, invite.project_id, invite.id);
    await appendEvent(trx, invite.project_id, {
      type: 'invite_redeemed',
      actor: grant.actor,
      participationId: grant.participationId,
      data: { invite_id: Number(invite.id), uses_left: invite.uses_left - 1 },
    });
    return { token: grant.token, actor: grant.actor, project: invite.project_slug };
  });
  sendJson(res, 200, { ...result, setup: setupBlock(deps.config.publicUrl, result.token) });
}
