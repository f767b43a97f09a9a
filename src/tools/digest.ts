import type { DigestRow } from '../db/digest.js';

// The whats_new digest: what the caller should have in mind besides the new events: my
// unacked posts, my live leases, my unfinished tasks, and the latest claims. The database reads
// it in one statement (src/db/digest.ts); this shapes it.

// An excerpt here is a pointer, not a delivery: the sender's receipt says delivered only once
// read_posts has returned the whole post to the recipient.

const iso = (t: string) => new Date(t).toISOString();

export function digestView(d: DigestRow): Record<string, unknown> {
  return {
    unacked_posts:
      d.unacked_count === 0
        ? { count: 0 }
        : {
            count: d.unacked_count,
            latest: d.unacked.map((r) => ({
              post_id: Number(r.id),
              from: r.sender_actor,
              ...(r.subject ? { subject: r.subject } : { excerpt: r.excerpt }),
              ...(r.ref ? { ref: r.ref } : {}),
              ...(r.tag ? { tag: r.tag } : {}),
              at: iso(r.created_at),
            })),
          },
    live_leases: d.leases.map((l) => ({
      lease_id: Number(l.id),
      surface: l.surface,
      mode: l.mode,
      expires_at: iso(l.expires_at),
    })),
    my_tasks: d.tasks.map((t) => ({
      task_id: Number(t.id),
      title: t.title,
      status: t.status,
      lane: t.lane,
    })),
    latest_claims: d.claims.map((c) => ({
      sequence: c.sequence,
      formatted: c.formatted,
      by: c.actor,
      at: iso(c.at),
    })),
  };
}
