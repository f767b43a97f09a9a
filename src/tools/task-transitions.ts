import { conflict, notFound } from '../errors.js';
import type { EventData, EventType } from '../db/event-types.js';
import { appendEvent, type NewEvent } from '../db/ledger.js';
import type { Trx } from '../db/pool.js';
import type { TaskStatus } from '../db/schema.js';
import { lockTask, type TaskRow } from '../db/tasks.js';
import type { Ctx } from './types.js';

// What every task transition shares: the states it applies to, locking the task row first, and
// the event it appends (carrying task_id) last. The transitions live in tasks.ts and, for
// blockers, task-blockers.ts.

/** The transitions, named by the tool that makes them. */
type Transition =
  | 'task_assign'
  | 'task_start'
  | 'task_block'
  | 'task_resolve'
  | 'task_ship'
  | 'task_cancel'
  | 'task_reopen';

const ALLOWED: Record<Transition, readonly TaskStatus[]> = {
  task_assign: ['open', 'assigned'],
  task_start: ['open', 'assigned'],
  task_block: ['open', 'assigned', 'in_progress', 'blocked'],
  task_resolve: ['open', 'assigned', 'in_progress', 'blocked'],
  task_ship: ['in_progress'],
  task_cancel: ['open', 'assigned', 'in_progress', 'blocked'],
  task_reopen: ['done', 'cancelled'],
};

const HINTS: Partial<Record<TaskStatus, string>> = {
  open: 'start it with task_start',
  assigned: 'its assignee starts it with task_start',
  blocked: 'resolve its blockers with task_resolve',
  done: 'reopen it with task_reopen',
  cancelled: 'reopen it with task_reopen',
};

export async function lockedTask(
  trx: Trx,
  ctx: Ctx,
  taskId: number,
  tool: Transition,
): Promise<TaskRow> {
  const task = await lockTask(trx, ctx.projectId, String(taskId));
  if (!task) throw notFound(`no task ${taskId} in this project; see list_tasks`);
  const allowed = ALLOWED[tool];
  if (!allowed.includes(task.status)) {
    const hint = HINTS[task.status];
    throw conflict(
      `task ${taskId} is ${task.status}; ${tool} applies to ${allowed.join(' or ')} tasks${hint ? ` (${hint})` : ''}`,
      { status: task.status },
    );
  }
  return task;
}

type TaskEvent = Extract<EventType, `task_${string}`>;

export const taskEvent = <T extends TaskEvent>(
  trx: Trx,
  ctx: Ctx,
  type: T,
  taskId: string,
  data: EventData[T],
  ref?: string | null,
) =>
  appendEvent(trx, ctx.projectId, {
    type,
    actor: ctx.actor,
    participationId: ctx.participationId,
    taskId,
    ref,
    data,
  } as NewEvent);
