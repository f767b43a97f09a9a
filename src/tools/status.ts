import { z } from 'zod';
import { latestClaims } from '../db/claims.js';
import { countUnacked, latestUnacked } from '../db/posts.js';
import { activeParticipants, livenessWindow } from '../db/presence.js';
import type { EventData } from '../db/event-types.js';
import {
  liveLeasesWithHolders,
  pendingActions,
  recentEvents,
  staleTasks,
  taskCounts,
} from '../db/status.js';
import { defineTool } from './types.js';

// The project at a glance (spec §7 Rollup). The web board shows the same picture.

const SHOWN = 50;
const SHOWN_ACTIONS = 20;

/** What a recent post event says about the post, from the ledger: its subject or excerpt, its flag. */
function aboutPost(type: string, data: Record<string, unknown>) {
  if (type !== 'post') return {};
  const d = data as Partial<EventData['post']>;
  return {
    ...(d.subject ? { subject: d.subject } : d.excerpt ? { excerpt: d.excerpt } : {}),
    ...(d.action ? { action: d.action } : {}),
  };
}

export const status = defineTool({
  name: 'status',
  core: true,
  title: 'Project status',
  description:
    'At a glance: who is active, leases (orphaned too), tasks, pending actions, your inbox, news.',
  input: z.strictObject({}),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }) => {
    const window = await livenessWindow(trx, ctx.projectId);
    const [active, leases, counts, stale, unacked, latest, events, claims, actions] =
      await Promise.all([
        activeParticipants(trx, ctx.projectId, ctx.participationId, { withinSeconds: window }),
        liveLeasesWithHolders(trx, ctx.projectId, window, SHOWN),
        taskCounts(trx, ctx.projectId),
        staleTasks(trx, ctx.projectId, window, SHOWN),
        countUnacked(trx, ctx.projectId, ctx.participationId),
        latestUnacked(trx, ctx.projectId, ctx.participationId, 5),
        recentEvents(trx, ctx.projectId, 10),
        latestClaims(trx, ctx.projectId, { limit: 10 }),
        pendingActions(trx, ctx.projectId, SHOWN_ACTIONS),
      ]);
    const lease = (l: (typeof leases)[number]) => ({
      lease_id: Number(l.lease_id),
      actor: l.actor,
      surface: l.surface,
      mode: l.mode,
      expires_at: l.expires_at,
    });
    return {
      project: ctx.projectSlug,
      liveness_window_seconds: window,
      active: active.map((a) => ({
        actor: a.actor,
        lane: a.lane,
        status: a.status,
        last_seen: a.last_seen_at,
      })),
      leases: leases.filter((l) => !l.orphaned).map(lease),
      orphaned_leases: leases.filter((l) => l.orphaned).map(lease),
      tasks: {
        counts: Object.fromEntries(
          ['open', 'assigned', 'in_progress', 'blocked', 'done', 'cancelled'].map((s) => [
            s,
            counts[s] ?? 0,
          ]),
        ),
        stale: stale.map((t) => ({
          task_id: Number(t.task_id),
          title: t.title,
          status: t.status,
          owner: t.owner,
          owner_last_seen: t.owner_last_seen,
        })),
      },
      pending_actions: actions.map((p) => ({
        post_id: Number(p.post_id),
        from: p.sender_actor,
        action: p.action,
        ...(p.subject !== null ? { subject: p.subject } : { excerpt: p.excerpt }),
        ...(p.tag !== null ? { tag: p.tag } : {}),
        at: p.created_at,
        waiting_on: p.waiting_on,
      })),
      unacked_posts: {
        count: unacked,
        latest: latest.map((p) => ({
          post_id: Number(p.id),
          from: p.sender_actor,
          subject: p.subject ?? p.excerpt,
        })),
      },
      recent_events: events.map((e) => ({
        seq: Number(e.seq),
        type: e.type,
        actor: e.actor,
        at: e.at,
        ...(e.task_id ? { task_id: Number(e.task_id) } : {}),
        ...(e.post_id ? { post_id: Number(e.post_id) } : {}),
        ...(e.sequence ? { sequence: e.sequence } : {}),
        ...(e.ref ? { ref: e.ref } : {}),
        ...(e.tag ? { tag: e.tag } : {}),
        ...aboutPost(e.type, e.data),
      })),
      latest_claims: claims.map((c) => ({
        sequence: c.sequence,
        formatted: c.formatted,
        by: c.actor,
        at: c.at,
      })),
    };
  },
});
