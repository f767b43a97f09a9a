import { z } from 'zod';
import { AppError, notFound } from '../errors.js';
import type { Address } from '../db/event-types.js';
import { appendEvent } from '../db/ledger.js';
import type { Trx } from '../db/pool.js';
import {
  findPostByKey,
  insertPost,
  insertRecipients,
  recipientActors,
  threadRootOf,
  type Audience,
} from '../db/posts.js';
import { findParticipationByActor, suggestActors } from '../db/presence.js';
import { ACTOR, ID, jsonObject, LANE, line, text } from '../names.js';
import { postContent, verifyPostSignature, type SigningKey } from '../auth/signing.js';
import { signingKeyOf } from '../db/identity.js';
import { requireKnownLane } from './presence.js';
import { defineTool, type Ctx } from './types.js';

// Handoffs: directed posts with a receipt per recipient. Delivery is recorded the first time
// read_posts returns a post to a recipient; an ack is always the recipient's own explicit act.
// Reading and acknowledging live in inbox.ts.

const BODY = text(16_000, 1).refine((s) => s.trim() !== '', { message: 'must not be blank' });
export const REF = line(500);
export const TAG = line(64);
/** A short flag on a post saying its recipients are to act: `review`, `decide`. */
export const ACTION = line(32);
const DATA_BYTES = 8192;
/** How much of a body the ledger keeps beside a post event. */
const EXCERPT_CHARS = 120;

/** The start of a body on one line, cut between characters (never inside a surrogate pair). */
function excerptOf(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length > EXCERPT_CHARS ? `${chars.slice(0, EXCERPT_CHARS).join('')}…` : flat;
}

const oneAddress = (a: { to_actor?: string; to_lane?: string; broadcast?: boolean }) =>
  [a.to_actor !== undefined, a.to_lane !== undefined, a.broadcast === true].filter(Boolean)
    .length === 1;

export const post = defineTool({
  name: 'post',
  core: true,
  title: 'Post',
  description:
    'Hand off to to_actor, to_lane or broadcast. action flags a request (review); data: a JSON object.',
  input: z
    .strictObject({
      to_actor: ACTOR.optional(),
      to_lane: LANE.optional(),
      broadcast: z.boolean().optional(),
      subject: line(200).optional(),
      body: BODY,
      ref: REF.optional(),
      tag: TAG.optional(),
      action: ACTION.optional(),
      data: jsonObject(DATA_BYTES).optional(),
      reply_to: ID.optional(),
      idempotency_key: line(128).optional(),
      // A refinement, not .max(): a JWS never nears the limit, so tools/list need not say it.
      signature: z
        .string()
        .refine((s) => s.length <= 8192, 'a signature is at most 8192 characters')
        .regex(/^[\w-]+\.[\w-]+\.[\w-]+$/, 'a signature is a compact JWS: header.payload.signature')
        .optional(),
    })
    .refine(oneAddress, {
      message: 'address the post with exactly one of to_actor, to_lane or broadcast: true',
    }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  handler: async ({ trx, ctx }, a) => {
    const key = a.idempotency_key ?? null;
    if (key !== null) {
      const first = await findPostByKey(trx, ctx.projectId, ctx.participationId, key);
      if (first) return replay(trx, ctx, first);
    }
    let threadId: string | null = null;
    if (a.reply_to !== undefined) {
      const root = await threadRootOf(trx, ctx.projectId, a.reply_to);
      if (root === undefined) {
        throw notFound(`reply_to: no post ${a.reply_to} in this project; find it with read_posts`);
      }
      threadId = root;
    }
    let signingKid: string | null = null;
    if (a.signature !== undefined) {
      const key = await signingKeyOf(trx, ctx.projectId, ctx.participationId);
      await verifyPostSignature(a.signature, key as SigningKey | undefined, postContent(a));
      signingKid = key?.kid ?? null;
    }
    const { audience, toActor } = await resolveAudience(trx, ctx, a);
    const postId = await insertPost(trx, ctx.projectId, {
      senderId: ctx.participationId,
      senderActor: ctx.actor,
      toParticipationId: audience.kind === 'direct' ? audience.participationId : null,
      toActor,
      toLane: audience.kind === 'lane' ? audience.lane : null,
      broadcast: audience.kind === 'broadcast',
      subject: a.subject ?? null,
      body: a.body,
      ref: a.ref ?? null,
      tag: a.tag ?? null,
      replyTo: a.reply_to === undefined ? null : String(a.reply_to),
      threadId,
      idempotencyKey: key,
      signature: a.signature ?? null,
      signingKid,
      action: a.action ?? null,
      data: a.data ?? null,
    });
    if (postId === undefined) {
      // A concurrent post with the same key committed first: it is the post.
      const first = await findPostByKey(trx, ctx.projectId, ctx.participationId, key as string);
      if (!first) throw new AppError('unavailable', 'a concurrent post got in the way; retry');
      return replay(trx, ctx, first);
    }
    const recipients = await insertRecipients(
      trx,
      ctx.projectId,
      postId,
      ctx.participationId,
      audience,
    );
    const event = await appendEvent(trx, ctx.projectId, {
      type: 'post',
      actor: ctx.actor,
      participationId: ctx.participationId,
      postId,
      ref: a.ref ?? null,
      tag: a.tag ?? null,
      data: {
        ...addressOf({ to_actor: toActor, to_lane: a.to_lane ?? null, broadcast: !!a.broadcast }),
        ...(a.subject ? { subject: a.subject } : {}),
        excerpt: excerptOf(a.body),
        ...(a.action ? { action: a.action } : {}),
        ...(a.reply_to ? { reply_to: a.reply_to } : {}),
        recipients: recipients.length,
      },
    });
    return {
      post_id: Number(postId),
      seq: Number(event.seq),
      recipients,
      ...(recipients.length === 0 ? { warning: nobodyWarning(a, toActor) } : {}),
    };
  },
});

async function resolveAudience(
  trx: Trx,
  ctx: Ctx,
  a: { to_actor?: string; to_lane?: string },
): Promise<{ audience: Audience; toActor: string | null }> {
  if (a.to_actor !== undefined) {
    const target = await findParticipationByActor(trx, ctx.projectId, a.to_actor);
    if (!target) {
      const known = await suggestActors(trx, ctx.projectId, a.to_actor);
      throw notFound(
        `to_actor: ${a.to_actor} is not a participant in this project; known: ${known.join(', ')}`,
      );
    }
    return { audience: { kind: 'direct', participationId: target.id }, toActor: target.actor };
  }
  if (a.to_lane !== undefined) {
    await requireKnownLane(trx, ctx.projectId, a.to_lane, 'to_lane');
    return { audience: { kind: 'lane', lane: a.to_lane }, toActor: null };
  }
  return { audience: { kind: 'broadcast' }, toActor: null };
}

function nobodyWarning(a: { to_lane?: string }, toActor: string | null): string {
  if (toActor !== null) {
    return `${toActor} has no live token (revoked or expired), so nobody will receive this post`;
  }
  return a.to_lane
    ? `nobody is in lane ${a.to_lane} now, so nobody will receive this post`
    : 'nobody else is in this project yet, so nobody will receive this post';
}

async function replay(trx: Trx, ctx: Ctx, first: { id: string; seq: string | null }) {
  return {
    post_id: Number(first.id),
    seq: first.seq === null ? null : Number(first.seq),
    recipients: await recipientActors(trx, ctx.projectId, first.id),
    replayed: true,
  };
}

export function addressOf(p: {
  to_actor: string | null;
  to_lane: string | null;
  broadcast: boolean;
}): Address {
  if (p.to_actor !== null) return { to_actor: p.to_actor };
  if (p.to_lane !== null) return { to_lane: p.to_lane };
  return { broadcast: true };
}
