import { countUnacked, latestUnacked } from '../db/posts.js';
import type { Trx } from '../db/pool.js';
import type { Ctx } from './types.js';

// The whats_new digest: what the caller should have in mind besides the new events. Each part
// is a query or two of its own; the spec's other parts join this list as their tables land:
//   live_leases:   my live leases (leases)
//   my_tasks:      tasks assigned to me that are not done (tasks)
//   latest_claims: the newest claim of each sequence (claims)

type DigestPart = (trx: Trx, ctx: Ctx) => Promise<unknown>;

const SHOWN_UNACKED = 5;

// An excerpt here is a pointer, not a delivery: the sender's receipt says delivered only once
// read_posts has returned the whole post to the recipient.

const PARTS: Record<string, DigestPart> = {
  unacked_posts: async (trx, ctx) => {
    const count = await countUnacked(trx, ctx.projectId, ctx.participationId);
    if (count === 0) return { count };
    const rows = await latestUnacked(trx, ctx.projectId, ctx.participationId, SHOWN_UNACKED);
    return {
      count,
      latest: rows.map((r) => ({
        post_id: Number(r.id),
        from: r.sender_actor,
        ...(r.subject ? { subject: r.subject } : { excerpt: r.excerpt }),
        ...(r.ref ? { ref: r.ref } : {}),
        ...(r.tag ? { tag: r.tag } : {}),
        at: r.created_at.toISOString(),
      })),
    };
  },
};

export async function buildDigest(trx: Trx, ctx: Ctx): Promise<Record<string, unknown>> {
  const digest: Record<string, unknown> = {};
  for (const [key, part] of Object.entries(PARTS)) digest[key] = await part(trx, ctx);
  return digest;
}
