import { z } from 'zod';
import { invalid, notFound } from '../errors.js';
import type { EventData } from '../db/event-types.js';
import { advisoryXactLock } from '../db/locks.js';
import type { Trx } from '../db/pool.js';
import {
  getTask,
  hasOpenBlockers,
  insertBlocker,
  lockTask,
  resolveBlockers,
  resolveBlockersOn,
  updateTask,
  wouldCycle,
  type TaskRow,
} from '../db/tasks.js';
import { ID, text } from '../names.js';
import { lockedTask, taskEvent } from './task-transitions.js';
import { defineTool, type Ctx } from './types.js';
import { taskView } from './task-views.js';

// Blockers: task_block records one (on another task, or a reason alone), task_resolve resolves
// them, and shipping a task resolves the blockers that waited on it (resolveWaitingOn). A blocked
// task whose last blocker goes resumes in_progress.

export const task_block = defineTool({
  name: 'task_block',
  title: 'Block task',
  description: 'Record a blocker, optionally on another task. No self-blocks or cycles.',
  input: z.strictObject({ task_id: ID, on: ID.optional(), reason: text(2000, 1) }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  handler: async ({ trx, ctx }, a) => {
    if (a.on === a.task_id) throw invalid(`a task cannot block itself (task ${a.task_id})`);
    const task = await lockedTask(trx, ctx, a.task_id, 'task_block');
    const on = a.on === undefined ? null : String(a.on);
    if (on !== null) {
      if (!(await getTask(trx, ctx.projectId, on)))
        throw notFound(`no task ${on} in this project; see list_tasks`);
      // Two blocks checked at once could each miss the other's edge and close a cycle together;
      // one graph change at a time per project keeps the check honest.
      await advisoryXactLock(trx, 'task-graph', ctx.projectId);
      if (await wouldCycle(trx, ctx.projectId, task.task_id, on)) {
        throw invalid(
          `task ${on} already waits (through dependencies or blockers) for task ${a.task_id}; blocking would make a cycle`,
        );
      }
    }
    const blockerId = await insertBlocker(trx, ctx.projectId, {
      taskId: task.task_id,
      onTaskId: on,
      reason: a.reason,
      createdBy: ctx.actor,
    });
    if (task.status === 'in_progress')
      await updateTask(trx, ctx.projectId, task.task_id, { status: 'blocked' });
    await taskEvent(trx, ctx, 'task_blocked', task.task_id, {
      blocker_id: Number(blockerId),
      on: a.on ?? null,
      reason: a.reason,
    });
    return { task: await taskView(trx, ctx, task.task_id), blocker_id: Number(blockerId) };
  },
});

export const task_resolve = defineTool({
  name: 'task_resolve',
  title: 'Resolve blockers',
  description: 'Resolve one or all blockers; a blocked task with none left resumes.',
  input: z.strictObject({ task_id: ID, blocker_id: ID.optional() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  handler: async ({ trx, ctx }, a) => {
    const task = await lockedTask(trx, ctx, a.task_id, 'task_resolve');
    const resolved = await resolveBlockers(
      trx,
      ctx.projectId,
      task.task_id,
      ctx.actor,
      a.blocker_id === undefined ? undefined : String(a.blocker_id),
    );
    if (a.blocker_id !== undefined && resolved.length === 0) {
      throw notFound(`task ${a.task_id} has no open blocker ${a.blocker_id}; see task_get`);
    }
    const unblocked = await afterBlockersResolved(trx, ctx, task, resolved);
    if (unblocked) await taskEvent(trx, ctx, 'task_unblocked', task.task_id, unblocked);
    return { task: await taskView(trx, ctx, task.task_id), resolved: resolved.map(Number) };
  },
});

/**
 * A blocked task whose last open blocker was just resolved goes back to in_progress. Returns
 * the data of its task_unblocked event, for the caller to append after all row locks are taken.
 */
async function afterBlockersResolved(
  trx: Trx,
  ctx: Ctx,
  task: Pick<TaskRow, 'task_id' | 'status'>,
  resolved: string[],
): Promise<EventData['task_unblocked'] | undefined> {
  if (resolved.length === 0) return undefined;
  const stillBlocked = await hasOpenBlockers(trx, ctx.projectId, task.task_id);
  const resumes = task.status === 'blocked' && !stillBlocked;
  if (resumes) await updateTask(trx, ctx.projectId, task.task_id, { status: 'in_progress' });
  return {
    blocker_ids: resolved.map(Number),
    open_blockers: stillBlocked,
    status: resumes ? 'in_progress' : task.status,
  };
}

/**
 * Resolves the blockers that waited on a task being shipped, locking each waiting task in id
 * order. Every row lock is taken here, before the caller's first ledger append, which takes the
 * project's ledger head lock: a task lock taken after it could deadlock with a transition holding
 * that task. Returns the tasks that waited and the task_unblocked events to append after.
 */
export async function resolveWaitingOn(
  trx: Trx,
  ctx: Ctx,
  shippedTaskId: string,
): Promise<{ waited: number[]; unblocked: [string, EventData['task_unblocked']][] }> {
  const freed = await resolveBlockersOn(trx, ctx.projectId, shippedTaskId, ctx.actor);
  const byTask = new Map<string, string[]>();
  for (const f of freed) byTask.set(f.task_id, [...(byTask.get(f.task_id) ?? []), f.blocker_id]);
  const unblocked: [string, EventData['task_unblocked']][] = [];
  for (const [waiting, ids] of [...byTask].sort((x, y) => Number(x[0]) - Number(y[0]))) {
    const w = await lockTask(trx, ctx.projectId, waiting);
    const data = w && (await afterBlockersResolved(trx, ctx, w, ids));
    if (data) unblocked.push([waiting, data]);
  }
  return { waited: [...byTask.keys()].map(Number), unblocked };
}
