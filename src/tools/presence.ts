import { z } from 'zod';
import { LIVENESS_WINDOW_SECONDS } from '../access/limits.js';
import { setLivenessWindow } from '../access/settings.js';
import { invalid, notFound } from '../errors.js';
import { appendEvent } from '../db/ledger.js';
import type { Executor } from '../db/pool.js';
import {
  activeParticipants,
  actorsWithLabel,
  handleInProject,
  knownLanes,
  laneExists,
  livenessWindow,
  setLaneAndStatus,
} from '../db/presence.js';
import { LANE, line } from '../names.js';
import { acting, defineTool } from './types.js';

// Presence: which lane I work in and what I am doing, and who else is around. Liveness itself is
// refreshed by authentication on every call (debounced to one write per 10 s).

const WINDOW_SECONDS = z
  .number()
  .int()
  .min(LIVENESS_WINDOW_SECONDS.min)
  .max(LIVENESS_WINDOW_SECONDS.max);

/**
 * An actor filter: `handle/label` as given, or a bare name that must be the handle of a person
 * here. A bare label (`claude-2`) is the usual slip; it is refused with the actors it may mean,
 * as post and list_tasks refuse it, instead of silently matching nothing.
 */
export async function requireActorFilter(
  db: Executor,
  projectId: string,
  actor: string,
  field: string,
): Promise<void> {
  if (actor.includes('/') || (await handleInProject(db, projectId, actor))) return;
  const meant = await actorsWithLabel(db, projectId, actor);
  throw invalid(
    `${field}: "${actor}" is not handle/label, and no person here has that handle; ` +
      (meant.length
        ? `did you mean ${meant.join(' or ')}?`
        : 'name participants as handle/label (see list_participants)'),
    { fields: [{ field, problem: 'a bare label; give handle/label' }] },
  );
}

/** A lane nobody has ever been in is almost always a typo: say so, with the real ones. */
export async function requireKnownLane(
  db: Executor,
  projectId: string,
  lane: string,
  field: string,
): Promise<void> {
  if (await laneExists(db, projectId, lane)) return;
  const known = await knownLanes(db, projectId);
  throw notFound(
    `${field}: nobody has ever been in lane "${lane}"; ` +
      (known.length ? `known lanes: ${known.join(', ')}` : 'no lanes yet (register sets one)'),
  );
}

export const register = defineTool({
  name: 'register',
  core: true,
  title: 'Register',
  description: 'Set your lane and status (what you are doing), at session start.',
  input: z.strictObject({ lane: LANE, status: line(200).optional() }),
  // It replaces only my own lane and status, and the ledger keeps the previous lane.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  handler: async ({ trx, ctx }, { lane, status }) => {
    const { previous_lane } = await setLaneAndStatus(
      trx,
      ctx.projectId,
      ctx.participationId,
      lane,
      status ?? null,
    );
    await appendEvent(trx, ctx.projectId, {
      type: 'register',
      actor: ctx.actor,
      participationId: ctx.participationId,
      data: { lane, ...(status ? { status } : {}), previous_lane },
    });
    return { actor: ctx.actor, lane, status: status ?? null, previous_lane };
  },
});

export const who_is_active = defineTool({
  name: 'who_is_active',
  core: true,
  title: 'Who is active',
  description: 'Who was seen within the liveness window, by lane.',
  input: z.strictObject({ lane: LANE.optional(), within_seconds: WINDOW_SECONDS.optional() }),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }, { lane, within_seconds }) => {
    if (lane !== undefined) await requireKnownLane(trx, ctx.projectId, lane, 'lane');
    const window = within_seconds ?? (await livenessWindow(trx, ctx.projectId));
    const rows = await activeParticipants(trx, ctx.projectId, ctx.participationId, {
      lane,
      withinSeconds: window,
    });
    return {
      window_seconds: window,
      active: rows.map((r) => ({
        actor: r.actor,
        kind: r.kind,
        lane: r.lane,
        status: r.status,
        last_seen: r.last_seen_at.toISOString(),
        ...(r.self ? { self: true } : {}),
      })),
    };
  },
});

export const set_liveness_window = defineTool({
  name: 'set_liveness_window',
  title: 'Liveness window',
  description: 'Admin: how long after its last call a participant counts as active.',
  input: z.strictObject({ seconds: WINDOW_SECONDS }),
  // It replaces a setting every participant's presence depends on.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  admin: true,
  handler: async ({ trx, ctx }, { seconds }) => {
    const set = await setLivenessWindow(trx, ctx.projectId, acting(ctx), seconds);
    return { window_seconds: set.seconds, previous: set.previous };
  },
});
