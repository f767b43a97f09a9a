import { z } from 'zod';
import { invalid, notFound } from '../errors.js';
import { findParticipationByActor } from '../db/presence.js';
import type { Executor } from '../db/pool.js';
import {
  blockers,
  dependencies,
  getTask,
  listTasks,
  taskHistory,
  type TaskRow,
} from '../db/tasks.js';
import { ACTOR, bounded, ID, LANE } from '../names.js';
import { defineTool, type Ctx } from './types.js';

// Reading the task graph: the shape a task is shown in, list_tasks and task_get.

const STATUS = z.enum(['open', 'assigned', 'in_progress', 'blocked', 'done', 'cancelled']);

function formatTask(t: TaskRow) {
  return {
    task_id: Number(t.task_id),
    title: t.title,
    detail: t.detail,
    lane: t.lane,
    status: t.status,
    owner: t.owner,
    ready: t.ready,
    parent: t.parent_id === null ? null : Number(t.parent_id),
    created_by: t.created_by,
    ref: t.ref,
    lease_seconds: t.hold_seconds,
    started_at: t.started_at,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}

export async function taskView(db: Executor, ctx: Ctx, id: string) {
  const t = await getTask(db, ctx.projectId, id);
  if (!t) throw notFound(`no task ${id} in this project`);
  return formatTask(t);
}

const encodeCursor = (lastId: string) => Buffer.from(`t:${lastId}`).toString('base64url');
function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^t:[1-9][0-9]{0,17}$/.test(text))
    throw invalid('cursor: not a cursor from list_tasks; omit it to start over');
  return text.slice(2);
}

export const list_tasks = defineTool({
  name: 'list_tasks',
  title: 'List tasks',
  description: 'Tasks, oldest first, by the filters given.',
  input: z.strictObject({
    status: STATUS.optional(),
    owner: ACTOR.optional(),
    lane: LANE.optional(),
    ready_only: z.boolean().optional(),
    cursor: bounded(100).optional(),
    limit: z.number().int().min(1).max(200).optional(),
  }),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }, a) => {
    const limit = a.limit ?? 50;
    let ownerParticipationId: string | undefined;
    if (a.owner) {
      ownerParticipationId = (await findParticipationByActor(trx, ctx.projectId, a.owner))?.id;
      if (!ownerParticipationId)
        throw notFound(`${a.owner} is not a participant of this project; see list_participants`);
    }
    const rows = await listTasks(trx, ctx.projectId, {
      status: a.status,
      ownerParticipationId,
      lane: a.lane,
      readyOnly: a.ready_only,
      afterId: a.cursor ? decodeCursor(a.cursor) : undefined,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      tasks: page.map(formatTask),
      next_cursor: rows.length > limit && last ? encodeCursor(last.task_id) : null,
    };
  },
});

export const task_get = defineTool({
  name: 'task_get',
  title: 'Get task',
  description: 'A task with its dependencies, blockers and history.',
  input: z.strictObject({ task_id: ID }),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }, a) => {
    const id = String(a.task_id);
    const t = await getTask(trx, ctx.projectId, id);
    if (!t) throw notFound(`no task ${a.task_id} in this project; see list_tasks`);
    const [deps, blocks, history] = await Promise.all([
      dependencies(trx, ctx.projectId, id),
      blockers(trx, ctx.projectId, id),
      taskHistory(trx, ctx.projectId, id, 200),
    ]);
    return {
      task: formatTask(t),
      depends_on: deps.map((d) => ({
        task_id: Number(d.task_id),
        title: d.title,
        status: d.status,
      })),
      blockers: blocks.map((b) => ({
        blocker_id: Number(b.blocker_id),
        on: b.on_task_id === null ? null : Number(b.on_task_id),
        reason: b.reason,
        by: b.created_by,
        at: b.created_at,
        resolved_at: b.resolved_at,
        resolved_by: b.resolved_by,
      })),
      history: history.map((e) => ({
        seq: Number(e.seq),
        type: e.type,
        actor: e.actor,
        at: e.at,
        data: e.data,
      })),
    };
  },
});
