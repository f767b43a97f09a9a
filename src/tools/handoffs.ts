import { z } from 'zod';
import { AppError, notFound } from '../errors.js';
import type { Address } from '../db/event-types.js';
import { appendEvent, appendEvents } from '../db/ledger.js';
import type { Trx } from '../db/pool.js';
import {
  ackPosts,
  ackTargets,
  findPostByKey,
  insertPost,
  insertRecipients,
  listPosts,
  markDelivered,
  receipts,
  recipientActors,
  threadRootOf,
  type Audience,
  type PostRow,
  type ReceiptRow,
} from '../db/posts.js';
import { findParticipationByActor, suggestActors } from '../db/presence.js';
import { ACTOR, ID, LANE, line, text } from '../names.js';
import { postContent, verifyPostSignature, type SigningKey } from '../auth/signing.js';
import { signingKeyOf } from '../db/identity.js';
import { decodeCursor, encodeCursor, page, PAGE_CURSOR } from './pages.js';
import { requireKnownLane } from './presence.js';
import { defineTool, type Ctx } from './types.js';

// Handoffs: directed posts with a receipt per recipient. Delivery is recorded the first time
// read_posts returns a post to a recipient; an ack is always the recipient's own explicit act.

const BODY = text(16_000, 1).refine((s) => s.trim() !== '', { message: 'must not be blank' });
const REF = line(500);
const TAG = line(64);

const oneAddress = (a: { to_actor?: string; to_lane?: string; broadcast?: boolean }) =>
  [a.to_actor !== undefined, a.to_lane !== undefined, a.broadcast === true].filter(Boolean)
    .length === 1;

export const post = defineTool({
  name: 'post',
  core: true,
  title: 'Post',
  description: 'Hand off to to_actor, to_lane or broadcast; ref anchors it, reply_to threads it.',
  input: z
    .strictObject({
      to_actor: ACTOR.optional(),
      to_lane: LANE.optional(),
      broadcast: z.boolean().optional(),
      subject: line(200).optional(),
      body: BODY,
      ref: REF.optional(),
      tag: TAG.optional(),
      reply_to: ID.optional(),
      idempotency_key: line(128).optional(),
      signature: z
        .string()
        .max(8192, 'a signature is at most 8192 characters')
        .regex(/^[\w-]+\.[\w-]+\.[\w-]+$/, 'a signature is a compact JWS: header.payload.signature')
        .optional(),
    })
    .refine(oneAddress, {
      message: 'address the post with exactly one of to_actor, to_lane or broadcast: true',
    }),
  annotations: { readOnlyHint: false },
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
        ...(a.reply_to ? { reply_to: a.reply_to } : {}),
        recipients: recipients.length,
      },
    });
    return {
      post_id: Number(postId),
      seq: Number(event.seq),
      recipients,
      ...(recipients.length === 0
        ? {
            warning: a.to_lane
              ? `nobody is in lane ${a.to_lane} now, so nobody will receive this post`
              : 'nobody else is in this project yet, so nobody will receive this post',
          }
        : {}),
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

async function replay(trx: Trx, ctx: Ctx, first: { id: string; seq: string | null }) {
  return {
    post_id: Number(first.id),
    seq: first.seq === null ? null : Number(first.seq),
    recipients: await recipientActors(trx, ctx.projectId, first.id),
    replayed: true,
  };
}

function addressOf(p: {
  to_actor: string | null;
  to_lane: string | null;
  broadcast: boolean;
}): Address {
  if (p.to_actor !== null) return { to_actor: p.to_actor };
  if (p.to_lane !== null) return { to_lane: p.to_lane };
  return { broadcast: true };
}

function postView(p: PostRow, deliveredNow: Date | undefined) {
  const delivered = p.delivered_at ?? deliveredNow ?? null;
  return {
    post_id: Number(p.id),
    from: p.sender_actor,
    ...addressOf(p),
    ...(p.subject !== null ? { subject: p.subject } : {}),
    body: p.body,
    ...(p.ref !== null ? { ref: p.ref } : {}),
    ...(p.tag !== null ? { tag: p.tag } : {}),
    ...(p.reply_to !== null ? { reply_to: Number(p.reply_to), thread: Number(p.thread_id) } : {}),
    at: p.created_at.toISOString(),
    ...(p.signature !== null ? { signature: p.signature, signing_kid: p.signing_kid } : {}),
    ...(p.recipient
      ? { delivered: delivered?.toISOString() ?? null, acked: p.acked_at?.toISOString() ?? null }
      : {}),
  };
}

export const read_posts = defineTool({
  name: 'read_posts',
  core: true,
  title: 'Read posts',
  description: 'Posts, newest first. to_me: inbox; sent: yours with receipts.',
  input: z.strictObject({
    to_me: z.boolean().optional(),
    to_lane: LANE.optional(),
    from_actor: ACTOR.optional(),
    tag: TAG.optional(),
    ref: REF.optional(),
    thread: ID.optional(),
    unacked_only: z.boolean().optional(),
    sent: z.boolean().optional(),
    cursor: PAGE_CURSOR.optional(),
    limit: z.number().int().min(1).max(100).default(20),
  }),
  // Not read-only: returning a post to a recipient records its delivery.
  annotations: { readOnlyHint: false, idempotentHint: true },
  handler: async ({ trx, ctx }, a) => {
    if (a.to_lane !== undefined) await requireKnownLane(trx, ctx.projectId, a.to_lane, 'to_lane');
    let threadRoot: string | undefined;
    if (a.thread !== undefined) {
      threadRoot = await threadRootOf(trx, ctx.projectId, a.thread);
      if (threadRoot === undefined) {
        throw notFound(`thread: no post ${a.thread} in this project; find it with read_posts`);
      }
    }
    const rows = await listPosts(trx, ctx.projectId, ctx.participationId, {
      toMe: a.to_me,
      toLane: a.to_lane,
      fromActor: a.from_actor,
      tag: a.tag,
      ref: a.ref,
      threadRoot,
      unackedOnly: a.unacked_only,
      sent: a.sent,
      beforeId: a.cursor === undefined ? undefined : decodeCursor('posts', a.cursor, 'read_posts'),
      limit: a.limit + 1,
    });
    const { items, more } = page(rows, a.limit);
    const delivered = await markDelivered(
      trx,
      ctx.projectId,
      ctx.participationId,
      items.filter((p) => p.recipient && p.delivered_at === null).map((p) => p.id),
    );
    const views: Record<string, unknown>[] = items.map((p) => postView(p, delivered.get(p.id)));
    if (a.sent) {
      const byPost = new Map<string, ReceiptRow[]>();
      for (const r of await receipts(
        trx,
        ctx.projectId,
        items.map((p) => p.id),
      )) {
        byPost.set(r.post_id, [...(byPost.get(r.post_id) ?? []), r]);
      }
      items.forEach((p, i) => {
        const rs = byPost.get(p.id) ?? [];
        (views[i] as Record<string, unknown>).receipts = {
          delivered: rs.filter((r) => r.delivered_at).map((r) => r.actor),
          acked: rs.filter((r) => r.acked_at).map((r) => r.actor),
          not_acked: rs.filter((r) => !r.acked_at).map((r) => r.actor),
        };
      });
    }
    const last = items.at(-1);
    return {
      posts: views,
      next_cursor: more && last ? encodeCursor('posts', last.id) : null,
    };
  },
});

export const ack = defineTool({
  name: 'ack',
  core: true,
  title: 'Ack posts',
  description: 'Acknowledge posts to you once handled.',
  input: z
    .strictObject({
      post_id: ID.optional(),
      post_ids: z.array(ID).min(1).max(100).optional(),
    })
    .refine((a) => (a.post_id === undefined) !== (a.post_ids === undefined), {
      message: 'give exactly one of post_id or post_ids',
    }),
  annotations: { readOnlyHint: false, idempotentHint: true },
  handler: async ({ trx, ctx }, a) => {
    const ids = [...new Set(a.post_ids ?? [a.post_id as number])].map(String);
    const targets = await ackTargets(trx, ctx.projectId, ctx.participationId, ids);
    const found = new Set(targets.map((t) => t.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw notFound(
        `no post ${missing.join(', ')} in this project; check the ids with read_posts(to_me: true)`,
      );
    }
    const foreign = targets.filter((t) => !t.recipient).map((t) => t.id);
    if (foreign.length > 0) {
      throw new AppError(
        'forbidden',
        `you are not a recipient of post ${foreign.join(', ')}; only its recipients can ack it`,
      );
    }
    const acked = await ackPosts(trx, ctx.projectId, ctx.participationId, ids);
    const byId = new Map(targets.map((t) => [t.id, t]));
    await appendEvents(
      trx,
      ctx.projectId,
      acked.map((id) => ({
        type: 'ack',
        actor: ctx.actor,
        participationId: ctx.participationId,
        postId: id,
        ref: byId.get(id)?.ref ?? null,
        tag: byId.get(id)?.tag ?? null,
      })),
    );
    const now = new Set(acked);
    return {
      acked: acked.map(Number),
      already_acked: ids.filter((id) => !now.has(id)).map(Number),
    };
  },
});
