import { z } from 'zod';
import { grantAndMint } from '../auth/provision.js';
import { setupBlock } from '../auth/setup.js';
import { INVITE_PATTERN, hashToken, mintInviteCode } from '../auth/tokens.js';
import { conflict, notFound } from '../errors.js';
import {
  closeSessionsOf,
  findParticipant,
  findParticipationByLabel,
  insertToken,
  projectOwner,
  revokeTokensOf,
} from '../db/identity.js';
import { insertInvite, revokeInvite } from '../db/invites.js';
import { appendEvent } from '../db/ledger.js';
import type { Trx } from '../db/pool.js';
import { mintToken } from '../auth/tokens.js';
import { ID, LABEL, LANE } from '../names.js';
import { defineTool, type Ctx } from './types.js';

// Project administration. Every tool here is admin-only (the dispatcher refuses others with
// `forbidden` before a handler runs), acts only inside the caller's project, and records itself
// in the ledger without the token or code it hands out.

const KIND = z.enum(['agent', 'human']);
const TTL_DAYS = z.number().int().min(1).max(3650);

async function lockedParticipation(trx: Trx, ctx: Ctx, label: string) {
  const p = await findParticipationByLabel(trx, ctx.projectId, label, { lock: true });
  if (!p) throw notFound(`no participant "${label}" in this project; see list_participants`);
  return p;
}

const expiry = (days: number | undefined) =>
  days === undefined ? null : new Date(Date.now() + days * 86_400_000);

export const admin_provision = defineTool({
  name: 'admin_provision',
  title: 'Provision',
  description: 'Admin: add or reuse a participant; mint it a token, shown once.',
  input: z.strictObject({
    participant: LABEL,
    kind: KIND.optional(),
    lane: LANE.optional(),
    is_admin: z.boolean().optional(),
    ttl_days: TTL_DAYS.optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  admin: true,
  handler: async ({ trx, ctx, config }, a) => {
    const owner = await projectOwner(trx, ctx.projectId);
    const expiresAt = expiry(a.ttl_days);
    const grant = await grantAndMint(
      trx,
      {
        projectId: ctx.projectId,
        ownerId: owner.owner_id,
        ownerHandle: owner.handle,
        label: a.participant,
        kind: a.kind,
        lane: a.lane,
        isAdmin: a.is_admin,
      },
      { expiresAt },
    );
    await appendEvent(trx, ctx.projectId, {
      type: 'participant_provisioned',
      actor: ctx.actor,
      participationId: ctx.participationId,
      data: {
        participant: grant.actor,
        created: grant.created,
        lane: a.lane ?? null,
        is_admin: a.is_admin ?? null,
        expires_at: expiresAt,
      },
    });
    return {
      actor: grant.actor,
      token: grant.token,
      expires_at: expiresAt,
      setup: setupBlock(config.publicUrl, grant.token),
    };
  },
});

export const admin_rotate = defineTool({
  name: 'admin_rotate',
  title: 'Rotate tokens',
  description: "Admin: replace a participant's tokens with a new one, atomically.",
  input: z.strictObject({ participant: LABEL, ttl_days: TTL_DAYS.optional() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  admin: true,
  handler: async ({ trx, ctx, config }, a) => {
    // The participation row lock serialises rotations of one participant; the new token is
    // inserted before the old ones are revoked, and both become visible at commit together.
    const p = await lockedParticipation(trx, ctx, a.participant);
    const { token, hash } = mintToken();
    const expiresAt = expiry(a.ttl_days);
    const minted = await insertToken(trx, ctx.projectId, p.id, hash, expiresAt);
    const revoked = await revokeTokensOf(trx, ctx.projectId, p.id, minted.id);
    const actor = `${p.handle}/${p.label}`;
    await appendEvent(trx, ctx.projectId, {
      type: 'token_rotated',
      actor: ctx.actor,
      participationId: ctx.participationId,
      data: { participant: actor, revoked, expires_at: expiresAt },
    });
    return {
      actor,
      token,
      revoked,
      expires_at: expiresAt,
      setup: setupBlock(config.publicUrl, token),
    };
  },
});

export const admin_revoke = defineTool({
  name: 'admin_revoke',
  title: 'Revoke tokens',
  description: "Admin: revoke a participant's tokens and end its sessions.",
  input: z.strictObject({ participant: LABEL }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  admin: true,
  handler: async ({ trx, ctx }, a) => {
    const p = await lockedParticipation(trx, ctx, a.participant);
    if (p.id === ctx.participationId) {
      throw conflict('you cannot revoke your own tokens; ask another admin, or use admin_rotate');
    }
    const revoked = await revokeTokensOf(trx, ctx.projectId, p.id);
    await closeSessionsOf(trx, ctx.projectId, p.id);
    const actor = `${p.handle}/${p.label}`;
    await appendEvent(trx, ctx.projectId, {
      type: 'tokens_revoked',
      actor: ctx.actor,
      participationId: ctx.participationId,
      data: { participant: actor, revoked },
    });
    return { actor, revoked };
  },
});

export const create_invite = defineTool({
  name: 'create_invite',
  title: 'Create an invite',
  description: 'Admin: a code that POST /join redeems for a token.',
  input: z.strictObject({
    participant: LABEL.optional(),
    kind: KIND.optional(),
    lane: LANE.optional(),
    is_admin: z.boolean().optional(),
    uses: z.number().int().min(1).max(1000).optional(),
    ttl_hours: z.number().int().min(1).max(720).optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  admin: true,
  handler: async ({ trx, ctx, config }, a) => {
    if (a.participant !== undefined) {
      const owner = await projectOwner(trx, ctx.projectId);
      if (await findParticipant(trx, owner.owner_id, a.participant)) {
        throw conflict(
          `the name "${a.participant}" is taken; choose another, or use admin_provision for an existing participant`,
        );
      }
    }
    const { code, hash } = mintInviteCode();
    const uses = a.uses ?? 1;
    const invite = await insertInvite(trx, {
      projectId: ctx.projectId,
      codeHash: hash,
      createdBy: ctx.actor,
      label: a.participant ?? null,
      kind: a.kind ?? 'agent',
      lane: a.lane ?? null,
      isAdmin: a.is_admin ?? false,
      uses,
      ttlHours: a.ttl_hours ?? 24,
    });
    await appendEvent(trx, ctx.projectId, {
      type: 'invite_created',
      actor: ctx.actor,
      participationId: ctx.participationId,
      data: {
        invite_id: Number(invite.id),
        participant: a.participant ?? null,
        kind: a.kind ?? 'agent',
        lane: a.lane ?? null,
        is_admin: a.is_admin ?? false,
        uses,
        expires_at: invite.expires_at,
      },
    });
    const url = `${config.publicUrl}/join`;
    const body = { code, name: a.participant ?? '<choose a name>' };
    return {
      code,
      expires_at: invite.expires_at,
      uses,
      redeem: {
        url,
        method: 'POST',
        body,
        curl: `curl -s -X POST ${url} -H 'content-type: application/json' -d '${JSON.stringify(body)}'`,
      },
    };
  },
});

export const revoke_invite = defineTool({
  name: 'revoke_invite',
  title: 'Revoke an invite',
  description: 'Admin: end an invite early.',
  input: z
    .strictObject({
      code: z
        .string()
        .regex(INVITE_PATTERN, 'an invite code looks like baton_inv_ followed by 43 characters')
        .optional(),
      invite_id: ID.optional(),
    })
    .refine((a) => (a.code === undefined) !== (a.invite_id === undefined), {
      message: 'give exactly one of code or invite_id',
    }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  admin: true,
  handler: async ({ trx, ctx }, a) => {
    const by = a.code !== undefined ? { codeHash: hashToken(a.code) } : { id: String(a.invite_id) };
    const ended = await revokeInvite(trx, ctx.projectId, by);
    if (!ended) {
      throw notFound(
        'no live invite of this project matches (wrong code or id, or already revoked)',
      );
    }
    await appendEvent(trx, ctx.projectId, {
      type: 'invite_revoked',
      actor: ctx.actor,
      participationId: ctx.participationId,
      data: { invite_id: Number(ended.id), uses_left: ended.uses_left },
    });
    return { revoked: true, uses_left: ended.uses_left };
  },
});
