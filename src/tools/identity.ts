import { z } from 'zod';
import { signingKeyFrom } from '../auth/signing.js';
import { listParticipants, setSigningKey } from '../db/identity.js';
import { appendEvent } from '../db/ledger.js';
import { bounded } from '../names.js';
import { defineTool } from './types.js';

export const whoami = defineTool({
  name: 'whoami',
  core: true,
  title: 'Who am I',
  description: 'Your actor (handle/label), kind, project, lane and admin flag.',
  input: z.strictObject({}),
  annotations: { readOnlyHint: true },
  handler: async ({ ctx }) => ({
    actor: ctx.actor,
    handle: ctx.handle,
    label: ctx.label,
    kind: ctx.kind,
    project: ctx.projectSlug,
    lane: ctx.lane,
    is_admin: ctx.isAdmin,
  }),
});

export const list_participants = defineTool({
  name: 'list_participants',
  title: 'List participants',
  description: 'The roster: actor, kind, lane, admin, active, last_seen, signing key.',
  input: z.strictObject({}),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }) => {
    const rows = await listParticipants(trx, ctx.projectId);
    return {
      participants: rows.map((r) => ({
        actor: `${r.handle}/${r.label}`,
        kind: r.kind,
        lane: r.lane,
        is_admin: r.is_admin,
        active: r.active,
        ...(r.revoked ? { revoked: true } : {}),
        last_seen: r.last_seen_at?.toISOString() ?? null,
        signing_key: r.signing_kid ? { kid: r.signing_kid, jwk: r.signing_jwk } : null,
      })),
    };
  },
});

/** Members a public JWK may carry: an Ed25519 key needs three, and a few optional ones. */
const JWK_MEMBERS = 16;

export const set_signing_key = defineTool({
  name: 'set_signing_key',
  title: 'Set signing key',
  description: 'Register your Ed25519 public JWK, to sign your posts.',
  input: z.strictObject({
    public_jwk: z
      .record(bounded(20), bounded(200))
      .refine((o) => Object.keys(o).length <= JWK_MEMBERS, {
        message: `a public JWK has at most ${JWK_MEMBERS} members (an Ed25519 key needs kty, crv and x)`,
      }),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  handler: async ({ trx, ctx }, a) => {
    const key = await signingKeyFrom(a.public_jwk);
    await setSigningKey(trx, ctx.projectId, ctx.participationId, key.jwk, key.kid);
    await appendEvent(trx, ctx.projectId, {
      type: 'signing_key_set',
      actor: ctx.actor,
      participationId: ctx.participationId,
      data: { kid: key.kid },
    });
    return { kid: key.kid, jwk: key.jwk };
  },
});
