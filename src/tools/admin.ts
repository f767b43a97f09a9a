import { z } from 'zod';
import { createInvite, revokeInvite } from '../access/invites.js';
import { INVITE_TTL_HOURS, INVITE_USES, TOKEN_TTL_DAYS } from '../access/limits.js';
import { provision, revoke, rotate } from '../access/tokens.js';
import { setupBlock } from '../auth/setup.js';
import { INVITE_PATTERN } from '../auth/tokens.js';
import { ID, LABEL, LANE } from '../names.js';
import { acting, defineTool } from './types.js';

// Project administration as tools: each parses its input and shapes its answer around one act
// of src/access, the same act the web admin's forms perform. Every tool here is admin-only (the
// dispatcher refuses others with `forbidden` before a handler runs) and acts only inside the
// caller's project.

const KIND = z.enum(['agent', 'human']);
const TTL_DAYS = z.number().int().min(TOKEN_TTL_DAYS.min).max(TOKEN_TTL_DAYS.max);

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
    const granted = await provision(trx, ctx.projectId, acting(ctx), {
      participant: a.participant,
      kind: a.kind,
      lane: a.lane,
      isAdmin: a.is_admin,
      ttlDays: a.ttl_days,
    });
    return {
      actor: granted.actor,
      token: granted.token,
      expires_at: granted.expiresAt,
      setup: setupBlock(config.publicUrl, granted.token),
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
    const r = await rotate(trx, ctx.projectId, acting(ctx), {
      target: { label: a.participant },
      ttlDays: a.ttl_days,
    });
    return {
      actor: r.actor,
      token: r.token,
      revoked: r.revoked,
      expires_at: r.expiresAt,
      setup: setupBlock(config.publicUrl, r.token),
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
  handler: async ({ trx, ctx }, a) =>
    revoke(trx, ctx.projectId, acting(ctx), { target: { label: a.participant } }),
});

export const create_invite = defineTool({
  name: 'create_invite',
  title: 'Create invite',
  description: 'Admin: a code that POST /join redeems for a token.',
  input: z.strictObject({
    participant: LABEL.optional(),
    kind: KIND.optional(),
    lane: LANE.optional(),
    is_admin: z.boolean().optional(),
    uses: z.number().int().min(INVITE_USES.min).max(INVITE_USES.max).optional(),
    ttl_hours: z.number().int().min(INVITE_TTL_HOURS.min).max(INVITE_TTL_HOURS.max).optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  admin: true,
  handler: async ({ trx, ctx, config }, a) => {
    const invite = await createInvite(trx, ctx.projectId, acting(ctx), {
      participant: a.participant,
      kind: a.kind,
      lane: a.lane,
      isAdmin: a.is_admin,
      uses: a.uses,
      ttlHours: a.ttl_hours,
    });
    const url = `${config.publicUrl}/join`;
    const body = { code: invite.code, name: a.participant ?? '<choose a name>' };
    return {
      code: invite.code,
      expires_at: invite.expiresAt,
      uses: invite.uses,
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
  title: 'Revoke invite',
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
    const which = a.code !== undefined ? { code: a.code } : { inviteId: String(a.invite_id) };
    const ended = await revokeInvite(trx, ctx.projectId, acting(ctx), which);
    return { revoked: ended.revoked, uses_left: ended.usesLeft };
  },
});
