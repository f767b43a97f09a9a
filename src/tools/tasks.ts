import { z } from 'zod';
import { conflict, forbidden, notFound } from '../errors.js';
import { findParticipationByActor } from '../db/presence.js';
import type { Trx } from '../db/pool.js';
import {
  claimNextTask,
  existingTaskIds,
  findTaskByIdempotencyKey,
  insertDeps,
  insertTask,
  reclaimStaleTasks,
  dependencies,
  updateTask,
  type TaskRow,
} from '../db/tasks.js';
import { ACTOR, ID, LANE, line, text } from '../names.js';
import { resolveWaitingOn } from './task-blockers.js';
import { lockedTask, taskEvent } from './task-transitions.js';
import { defineTool, type Ctx } from './types.js';
import { taskView } from './task-views.js';

// Task transitions other than blocking (task-blockers.ts): create, assign, start, ship, cancel,
// reopen and claim the next. Each runs in the dispatcher's one transaction, locks the task row
// first (task-transitions.ts), checks the state it found, changes it, and appends its event
// (carrying task_id) last.

/** The assignee, the creator, or an admin may manage a task. */
function mayManage(ctx: Ctx, task: TaskRow): boolean {
  return (
    ctx.isAdmin ||
    task.owner_participation_id === ctx.participationId ||
    task.created_by_participation_id === ctx.participationId
  );
}

async function ownerId(trx: Trx, ctx: Ctx, actor: string): Promise<string> {
  const found = await findParticipationByActor(trx, ctx.projectId, actor);
  if (!found)
    throw notFound(`${actor} is not a participant of this project; see list_participants`);
  return found.id;
}

const TASK_ID = z.strictObject({ task_id: ID });

export const task_create = defineTool({
  name: 'task_create',
  title: 'Create task',
  description: 'Add a task; owner assigns it, depends_on must be done first, parent nests it.',
  input: z.strictObject({
    title: line(200),
    detail: text(16_000).optional(),
    lane: LANE.optional(),
    owner: ACTOR.optional(),
    depends_on: z.array(ID).max(50, 'at most 50 dependencies').optional(),
    parent: ID.optional(),
    idempotency_key: line(200).optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  handler: async ({ trx, ctx }, a) => {
    if (a.idempotency_key) {
      const existing = await findTaskByIdempotencyKey(
        trx,
        ctx.projectId,
        ctx.participationId,
        a.idempotency_key,
      );
      if (existing) return { task: await taskView(trx, ctx, existing), repeated: true };
    }
    const deps = [...new Set((a.depends_on ?? []).map(String))];
    const referenced = [...deps, ...(a.parent ? [String(a.parent)] : [])];
    const found = await existingTaskIds(trx, ctx.projectId, referenced);
    const missing = referenced.filter((id) => !found.has(id));
    if (missing.length)
      throw notFound(`no task ${missing.join(', ')} in this project; see list_tasks`);
    const owner = a.owner ? await ownerId(trx, ctx, a.owner) : null;
    const id = await insertTask(trx, ctx.projectId, {
      title: a.title,
      detail: a.detail ?? null,
      lane: a.lane ?? null,
      ownerParticipationId: owner,
      parentId: a.parent ? String(a.parent) : null,
      createdBy: ctx.actor,
      createdByParticipationId: ctx.participationId,
      idempotencyKey: a.idempotency_key ?? null,
    });
    // A new task has no incoming edges yet, so its dependencies cannot close a cycle.
    await insertDeps(trx, ctx.projectId, id, deps);
    await taskEvent(trx, ctx, 'task_created', id, {
      title: a.title,
      owner: a.owner ?? null,
      depends_on: deps,
      parent: a.parent ?? null,
    });
    return { task: await taskView(trx, ctx, id) };
  },
});

export const task_assign = defineTool({
  name: 'task_assign',
  title: 'Assign task',
  description: 'Give an open or assigned task to an owner.',
  input: z.strictObject({ task_id: ID, owner: ACTOR }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  handler: async ({ trx, ctx }, a) => {
    const task = await lockedTask(trx, ctx, a.task_id, 'task_assign');
    if (task.owner_participation_id && !mayManage(ctx, task)) {
      throw forbidden(
        `task ${a.task_id} is assigned to ${task.owner}; only they, its creator or an admin can reassign it`,
      );
    }
    const owner = await ownerId(trx, ctx, a.owner);
    await updateTask(trx, ctx.projectId, task.task_id, {
      status: 'assigned',
      ownerParticipationId: owner,
    });
    await taskEvent(trx, ctx, 'task_assigned', task.task_id, {
      owner: a.owner,
      previous_owner: task.owner,
    });
    return { task: await taskView(trx, ctx, task.task_id) };
  },
});

export const task_start = defineTool({
  name: 'task_start',
  title: 'Start task',
  description: 'Start a ready task that is yours or unassigned.',
  input: TASK_ID,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  handler: async ({ trx, ctx }, a) => {
    const task = await lockedTask(trx, ctx, a.task_id, 'task_start');
    if (task.owner_participation_id && task.owner_participation_id !== ctx.participationId) {
      throw forbidden(
        `task ${a.task_id} is assigned to ${task.owner}; ask them, or have it reassigned with task_assign`,
      );
    }
    if (!task.ready) {
      const waiting = (await dependencies(trx, ctx.projectId, task.task_id)).filter(
        (d) => d.status !== 'done',
      );
      throw conflict(
        waiting.length
          ? `task ${a.task_id} waits for ${waiting.map((d) => `task ${d.task_id} (${d.status})`).join(', ')}; ship those first`
          : `task ${a.task_id} has open blockers; see task_get and resolve them with task_resolve`,
      );
    }
    await updateTask(trx, ctx.projectId, task.task_id, {
      status: 'in_progress',
      ownerParticipationId: ctx.participationId,
      started: true,
      holdSeconds: null,
    });
    await taskEvent(trx, ctx, 'task_started', task.task_id, {});
    return { task: await taskView(trx, ctx, task.task_id) };
  },
});

export const task_ship = defineTool({
  name: 'task_ship',
  core: true,
  title: 'Ship task',
  description: 'Mark your in-progress task done (ref: PR, commit); unblocks what waited on it.',
  input: z.strictObject({ task_id: ID, ref: line(500).optional() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  handler: async ({ trx, ctx }, a) => {
    const task = await lockedTask(trx, ctx, a.task_id, 'task_ship');
    if (task.owner_participation_id !== ctx.participationId && !ctx.isAdmin) {
      throw forbidden(`task ${a.task_id} is ${task.owner}'s; only its owner or an admin ships it`);
    }
    await updateTask(trx, ctx.projectId, task.task_id, {
      status: 'done',
      ref: a.ref ?? null,
      holdSeconds: null,
    });
    // Every row lock (the tasks that waited on this one) before the first ledger append.
    const { waited, unblocked } = await resolveWaitingOn(trx, ctx, task.task_id);
    await taskEvent(trx, ctx, 'task_shipped', task.task_id, { unblocked: waited }, a.ref ?? null);
    for (const [waiting, data] of unblocked) {
      await taskEvent(trx, ctx, 'task_unblocked', waiting, data);
    }
    return { task: await taskView(trx, ctx, task.task_id) };
  },
});

export const task_cancel = defineTool({
  name: 'task_cancel',
  title: 'Cancel task',
  description: 'Cancel a task that is not done, with a reason.',
  input: z.strictObject({ task_id: ID, reason: text(2000, 1) }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  handler: async ({ trx, ctx }, a) => {
    const task = await lockedTask(trx, ctx, a.task_id, 'task_cancel');
    if (!mayManage(ctx, task))
      throw forbidden(`only task ${a.task_id}'s owner, its creator or an admin can cancel it`);
    await updateTask(trx, ctx.projectId, task.task_id, { status: 'cancelled', holdSeconds: null });
    await taskEvent(trx, ctx, 'task_cancelled', task.task_id, {
      reason: a.reason,
      previous_status: task.status,
    });
    return { task: await taskView(trx, ctx, task.task_id) };
  },
});

export const task_reopen = defineTool({
  name: 'task_reopen',
  title: 'Reopen task',
  description: 'Reopen a done or cancelled task.',
  input: TASK_ID,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  handler: async ({ trx, ctx }, a) => {
    const task = await lockedTask(trx, ctx, a.task_id, 'task_reopen');
    if (!mayManage(ctx, task))
      throw forbidden(`only task ${a.task_id}'s owner, its creator or an admin can reopen it`);
    const status = task.owner_participation_id ? 'assigned' : 'open';
    await updateTask(trx, ctx.projectId, task.task_id, { status, started: null });
    await taskEvent(trx, ctx, 'task_reopened', task.task_id, { previous_status: task.status });
    return { task: await taskView(trx, ctx, task.task_id) };
  },
});

export const task_claim_next = defineTool({
  name: 'task_claim_next',
  core: true,
  title: 'Claim next task',
  description: 'Take and start the oldest ready task (in lane) that is free or yours.',
  input: z.strictObject({
    lane: LANE.optional(),
    lease_seconds: z.number().int().min(30).max(86_400).optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  handler: async ({ trx, ctx }, a) => {
    // Tasks whose holder went silent go back to the pool first, each with its own event
    // (appended after the claim, so every row lock precedes the ledger head lock).
    const reclaimed = await reclaimStaleTasks(trx, ctx.projectId);
    const holdSeconds = a.lease_seconds ?? 1800;
    const id = await claimNextTask(
      trx,
      ctx.projectId,
      ctx.participationId,
      a.lane ?? null,
      holdSeconds,
    );
    for (const r of reclaimed) {
      await taskEvent(trx, ctx, 'task_reclaimed', r.task_id, {
        previous_owner: r.previous_owner,
        hold_seconds: r.hold_seconds,
      });
    }
    if (!id) return { task: null };
    await taskEvent(trx, ctx, 'task_started', id, {
      via: 'task_claim_next',
      lease_seconds: holdSeconds,
    });
    return { task: await taskView(trx, ctx, id) };
  },
});
