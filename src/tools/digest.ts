import { latestClaims } from '../db/claims.js';
import { liveLeases } from '../db/leases.js';
import { countUnacked, latestUnacked } from '../db/posts.js';
import { myOpenTasks } from '../db/status.js';
import type { Trx } from '../db/pool.js';
import type { Ctx } from './types.js';

// The whats_new digest: what the caller should have in mind besides the new events: my
// unacked posts, my live leases, my unfinished tasks, and the latest claims. Each part is a
// query or two of its own.

type DigestPart = (trx: Trx, ctx: Ctx) => Promise<unknown>;

const SHOWN_UNACKED = 5;
const SHOWN = 10;

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
  live_leases: async (trx, ctx) =>
    (await liveLeases(trx, ctx.projectId, { participationId: ctx.participationId }))
      .slice(0, SHOWN)
      .map((l) => ({
        lease_id: Number(l.id),
        surface: l.surface,
        mode: l.mode,
        expires_at: l.expires_at,
      })),
  my_tasks: async (trx, ctx) =>
    (await myOpenTasks(trx, ctx.projectId, ctx.participationId, SHOWN)).map((t) => ({
      task_id: Number(t.id),
      title: t.title,
      status: t.status,
      lane: t.lane,
    })),
  latest_claims: async (trx, ctx) =>
    (await latestClaims(trx, ctx.projectId, { limit: 5 })).map((c) => ({
      sequence: c.sequence,
      formatted: c.formatted,
      by: c.actor,
      at: c.at,
    })),
};

export async function buildDigest(trx: Trx, ctx: Ctx): Promise<Record<string, unknown>> {
  const digest: Record<string, unknown> = {};
  for (const [key, part] of Object.entries(PARTS)) digest[key] = await part(trx, ctx);
  return digest;
}
