import { z } from 'zod';
import { AppError, invalid, notFound } from '../errors.js';
import { appendEvents } from '../db/ledger.js';
import type { Trx } from '../db/pool.js';
import {
  ackPosts,
  ackTargets,
  listPosts,
  markDelivered,
  receipts,
  threadRootOf,
  type AckedRow,
  type PostRow,
  type ReceiptRow,
} from '../db/posts.js';
import { ACTOR, ID, LANE } from '../names.js';
import { ACTION, addressOf, REF, TAG } from './handoffs.js';
import { decodeCursor, encodeCursor, page, PAGE_CURSOR } from './pages.js';
import { requireKnownLane } from './presence.js';
import { defineTool, type Ctx } from './types.js';

// Reading posts and acknowledging them. Delivery is recorded the first time read_posts returns a
// post to a recipient; an ack is always the recipient's own act: `ack`, or `read_posts` with
// `ack: true`, which drains the inbox: it returns my unacked posts and acks exactly those, in
// the same transaction.

/** Acks my receipts of these posts, and records each new ack in the ledger (last: see AGENTS.md). */
async function acknowledge(
  trx: Trx,
  ctx: Ctx,
  posts: readonly { id: string; ref: string | null; tag: string | null }[],
): Promise<AckedRow[]> {
  const acked = await ackPosts(
    trx,
    ctx.projectId,
    ctx.participationId,
    posts.map((p) => p.id),
  );
  const byId = new Map(posts.map((p) => [p.id, p]));
  await appendEvents(
    trx,
    ctx.projectId,
    acked.map((r) => ({
      type: 'ack',
      actor: ctx.actor,
      participationId: ctx.participationId,
      postId: r.post_id,
      ref: byId.get(r.post_id)?.ref ?? null,
      tag: byId.get(r.post_id)?.tag ?? null,
    })),
  );
  return acked;
}

function postView(p: PostRow, now: { delivered?: Date; acked?: Date } = {}) {
  const delivered = p.delivered_at ?? now.delivered ?? null;
  const acked = p.acked_at ?? now.acked ?? null;
  return {
    post_id: Number(p.id),
    from: p.sender_actor,
    ...addressOf(p),
    ...(p.subject !== null ? { subject: p.subject } : {}),
    body: p.body,
    ...(p.data !== null ? { data: p.data } : {}),
    ...(p.action !== null ? { action: p.action } : {}),
    ...(p.ref !== null ? { ref: p.ref } : {}),
    ...(p.tag !== null ? { tag: p.tag } : {}),
    ...(p.reply_to !== null ? { reply_to: Number(p.reply_to), thread: Number(p.thread_id) } : {}),
    at: p.created_at.toISOString(),
    ...(p.signature !== null ? { signature: p.signature, signing_kid: p.signing_kid } : {}),
    ...(p.recipient
      ? { delivered: delivered?.toISOString() ?? null, acked: acked?.toISOString() ?? null }
      : {}),
  };
}

function receiptsView(rs: readonly ReceiptRow[]) {
  // A revoked recipient can no longer ack: it is not someone the post still waits on.
  const gone = rs.filter((r) => r.revoked && !r.acked_at).map((r) => r.actor);
  return {
    delivered: rs.filter((r) => r.delivered_at).map((r) => r.actor),
    acked: rs.filter((r) => r.acked_at).map((r) => r.actor),
    not_acked: rs.filter((r) => !r.acked_at && !r.revoked).map((r) => r.actor),
    ...(gone.length > 0 ? { revoked: gone } : {}),
  };
}

export const read_posts = defineTool({
  name: 'read_posts',
  core: true,
  title: 'Read posts',
  description:
    'Posts, newest first. to_me: your inbox; sent: yours, with receipts. ack: true, order: oldest returns and acks your unacked posts.',
  input: z.strictObject({
    to_me: z.boolean().optional(),
    to_lane: LANE.optional(),
    from_actor: ACTOR.optional(),
    tag: TAG.optional(),
    action: ACTION.optional(),
    ref: REF.optional(),
    thread: ID.optional(),
    unacked_only: z.boolean().optional(),
    sent: z.boolean().optional(),
    ack: z.boolean().optional(),
    order: z.enum(['newest', 'oldest']).optional(),
    cursor: PAGE_CURSOR.optional(),
    limit: z.number().int().min(1).max(100).default(20),
  }),
  // Not read-only: returning a post to a recipient records its delivery, and `ack: true` acks.
  // Not idempotent: a second drain returns (and acks) the next posts.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  handler: async ({ trx, ctx }, a) => {
    const drain = a.ack === true;
    if (drain && a.sent) {
      throw invalid('ack: true drains posts to you; sent lists posts you sent. Use one of them');
    }
    if (a.to_lane !== undefined) await requireKnownLane(trx, ctx.projectId, a.to_lane, 'to_lane');
    let threadRoot: string | undefined;
    if (a.thread !== undefined) {
      threadRoot = await threadRootOf(trx, ctx.projectId, a.thread);
      if (threadRoot === undefined) {
        throw notFound(`thread: no post ${a.thread} in this project; find it with read_posts`);
      }
    }
    const oldest = a.order === 'oldest';
    // A cursor remembers its order, so a page of one order is never continued in the other.
    const list = oldest ? 'posts_oldest' : 'posts';
    const rows = await listPosts(trx, ctx.projectId, ctx.participationId, {
      toMe: a.to_me,
      toLane: a.to_lane,
      fromActor: a.from_actor,
      tag: a.tag,
      action: a.action,
      ref: a.ref,
      threadRoot,
      unackedOnly: a.unacked_only,
      sent: a.sent,
      oldestFirst: oldest,
      forAck: drain,
      afterCursor: a.cursor === undefined ? undefined : decodeCursor(list, a.cursor, 'read_posts'),
      limit: a.limit + 1,
    });
    const { items, more } = page(rows, a.limit);
    let views: Record<string, unknown>[];
    if (drain) {
      const acked = new Map((await acknowledge(trx, ctx, items)).map((r) => [r.post_id, r]));
      views = items.map((p) =>
        postView(p, { delivered: acked.get(p.id)?.delivered_at, acked: acked.get(p.id)?.acked_at }),
      );
    } else {
      const delivered = await markDelivered(
        trx,
        ctx.projectId,
        ctx.participationId,
        items.filter((p) => p.recipient && p.delivered_at === null).map((p) => p.id),
      );
      views = items.map((p) => postView(p, { delivered: delivered.get(p.id) }));
    }
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
        (views[i] as Record<string, unknown>).receipts = receiptsView(byPost.get(p.id) ?? []);
      });
    }
    const last = items.at(-1);
    return {
      posts: views,
      next_cursor: more && last ? encodeCursor(list, last.id) : null,
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
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
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
    const now = new Set((await acknowledge(trx, ctx, targets)).map((r) => r.post_id));
    return {
      acked: [...now].map(Number),
      already_acked: ids.filter((id) => !now.has(id)).map(Number),
    };
  },
});
