import { sql, type RawBuilder } from 'kysely';
import type { TaskStatus } from './schema.js';
import type { Executor, Trx } from './pool.js';

// The task graph. A task is *ready* when it is open or assigned, every dependency is done, and
// it has no open blocker; that one definition (READY below) serves task_claim_next, list_tasks,
// the views and the web board, so they can never disagree.

export interface TaskRow {
  task_id: string;
  title: string;
  detail: string | null;
  lane: string | null;
  status: TaskStatus;
  owner: string | null;
  owner_participation_id: string | null;
  parent_id: string | null;
  created_by: string;
  created_by_participation_id: string | null;
  ready: boolean;
  hold_seconds: number | null;
  started_at: Date | null;
  ref: string | null;
  created_at: Date;
  updated_at: Date;
}

export const READY = (t: string) =>
  sql.raw(`(${t}.status in ('open', 'assigned')
  and not exists (select 1 from task_deps d join tasks dt
                    on dt.project_id = d.project_id and dt.id = d.depends_on
                  where d.project_id = ${t}.project_id and d.task_id = ${t}.id and dt.status <> 'done')
  and not exists (select 1 from task_blockers b
                  where b.project_id = ${t}.project_id and b.task_id = ${t}.id and b.resolved_at is null))`);

const ACTOR_OF = (column: string) =>
  sql.raw(`(select o.handle || '/' || p.label from participations pa
     join participants p on p.id = pa.participant_id join owners o on o.id = p.owner_id
     where pa.project_id = t.project_id and pa.id = ${column})`);

const TASK_COLUMNS = sql`t.id as task_id, t.title, t.detail, t.lane, t.status,
  ${ACTOR_OF('t.owner_participation_id')} as owner, t.owner_participation_id, t.parent_id,
  t.created_by, t.created_by_participation_id, ${READY('t')} as ready, t.hold_seconds,
  t.started_at, t.ref, t.created_at, t.updated_at`;

export interface NewTask {
  title: string;
  detail: string | null;
  lane: string | null;
  ownerParticipationId: string | null;
  parentId: string | null;
  createdBy: string;
  createdByParticipationId: string;
  idempotencyKey: string | null;
}

export async function insertTask(trx: Trx, projectId: string, t: NewTask): Promise<string> {
  const row = await trx
    .insertInto('tasks')
    .values({
      project_id: projectId,
      title: t.title,
      detail: t.detail,
      lane: t.lane,
      status: t.ownerParticipationId ? 'assigned' : 'open',
      owner_participation_id: t.ownerParticipationId,
      parent_id: t.parentId,
      created_by: t.createdBy,
      created_by_participation_id: t.createdByParticipationId,
      idempotency_key: t.idempotencyKey,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function findTaskByIdempotencyKey(
  trx: Trx,
  projectId: string,
  participationId: string,
  key: string,
) {
  const row = await trx
    .selectFrom('tasks')
    .select('id')
    .where('project_id', '=', projectId)
    .where('created_by_participation_id', '=', participationId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
  return row?.id;
}

export async function insertDeps(trx: Trx, projectId: string, taskId: string, dependsOn: string[]) {
  if (dependsOn.length === 0) return;
  await trx
    .insertInto('task_deps')
    .values(dependsOn.map((d) => ({ project_id: projectId, task_id: taskId, depends_on: d })))
    .execute();
}

/** Which of these ids are tasks of the project. */
export async function existingTaskIds(
  db: Executor,
  projectId: string,
  ids: string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  // One array parameter, so the text (and the statement each connection prepares) is the same
  // however many ids come in.
  const { rows } = await sql<{ id: string }>`
    select id from tasks where project_id = ${projectId} and id = any(${ids}::bigint[])
  `.execute(db);
  return new Set(rows.map((r) => r.id));
}

export async function getTask(
  db: Executor,
  projectId: string,
  taskId: string,
): Promise<TaskRow | undefined> {
  const { rows } = await sql<TaskRow>`select ${TASK_COLUMNS} from tasks t
    where t.project_id = ${projectId} and t.id = ${taskId}`.execute(db);
  return rows[0];
}

/**
 * Locks the task row for the rest of the transaction: every transition goes through here, so
 * concurrent transitions of one task run one after another and each sees the last one's result.
 */
export async function lockTask(
  trx: Trx,
  projectId: string,
  taskId: string,
): Promise<TaskRow | undefined> {
  await sql`select 1 from tasks where project_id = ${projectId} and id = ${taskId} for update`.execute(
    trx,
  );
  return getTask(trx, projectId, taskId);
}

export async function updateTask(
  trx: Trx,
  projectId: string,
  taskId: string,
  set: {
    status?: TaskStatus;
    ownerParticipationId?: string | null;
    started?: boolean | null;
    holdSeconds?: number | null;
    ref?: string | null;
  },
) {
  const values: Record<string, unknown> = { updated_at: sql`now()` };
  if (set.status !== undefined) values.status = set.status;
  if (set.ownerParticipationId !== undefined)
    values.owner_participation_id = set.ownerParticipationId;
  if (set.started === true) values.started_at = sql`now()`;
  if (set.started === null) values.started_at = null;
  if (set.holdSeconds !== undefined) values.hold_seconds = set.holdSeconds;
  if (set.ref !== undefined) values.ref = set.ref;
  await trx
    .updateTable('tasks')
    .set(values)
    .where('project_id', '=', projectId)
    .where('id', '=', taskId)
    .execute();
}

export async function dependencies(db: Executor, projectId: string, taskId: string) {
  const { rows } = await sql<{ task_id: string; title: string; status: TaskStatus }>`
    select dt.id as task_id, dt.title, dt.status from task_deps d
    join tasks dt on dt.project_id = d.project_id and dt.id = d.depends_on
    where d.project_id = ${projectId} and d.task_id = ${taskId} order by dt.id`.execute(db);
  return rows;
}

export interface BlockerRow {
  blocker_id: string;
  on_task_id: string | null;
  reason: string;
  created_by: string;
  created_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
}

export async function blockers(db: Executor, projectId: string, taskId: string, openOnly = false) {
  const { rows } = await sql<BlockerRow>`
    select id as blocker_id, on_task_id, reason, created_by, created_at, resolved_at, resolved_by
    from task_blockers where project_id = ${projectId} and task_id = ${taskId}
    ${openOnly ? sql`and resolved_at is null` : sql``} order by id`.execute(db);
  return rows;
}

export async function insertBlocker(
  trx: Trx,
  projectId: string,
  b: { taskId: string; onTaskId: string | null; reason: string; createdBy: string },
): Promise<string> {
  const row = await trx
    .insertInto('task_blockers')
    .values({
      project_id: projectId,
      task_id: b.taskId,
      on_task_id: b.onTaskId,
      reason: b.reason,
      created_by: b.createdBy,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Would "from waits for to" close a cycle? True when `from` is reachable from `to` along
 * dependencies and open blockers. UNION (not UNION ALL) makes the walk stop on revisits.
 */
export async function wouldCycle(
  trx: Trx,
  projectId: string,
  from: string,
  to: string,
): Promise<boolean> {
  const { rows } = await sql<{ cycle: boolean }>`
    with recursive edges(a, b) as (
      select task_id, depends_on from task_deps where project_id = ${projectId}
      union all
      select task_id, on_task_id from task_blockers
      where project_id = ${projectId} and resolved_at is null and on_task_id is not null
    ), reach(id) as (
      select ${to}::bigint
      union
      select e.b from reach r join edges e on e.a = r.id
    )
    select exists (select 1 from reach where id = ${from}) as cycle`.execute(trx);
  return rows[0]?.cycle ?? false;
}

/** Resolves the open blockers of a task (one, or all); returns the ids resolved. */
export async function resolveBlockers(
  trx: Trx,
  projectId: string,
  taskId: string,
  by: string,
  blockerId?: string,
) {
  let q = trx
    .updateTable('task_blockers')
    .set({ resolved_at: sql`now()`, resolved_by: by })
    .where('project_id', '=', projectId)
    .where('task_id', '=', taskId)
    .where('resolved_at', 'is', null);
  if (blockerId !== undefined) q = q.where('id', '=', blockerId);
  return (await q.returning('id').execute()).map((r) => r.id);
}

/** Resolves every open blocker that waits on a task; returns the blocked tasks, locked. */
export async function resolveBlockersOn(trx: Trx, projectId: string, onTaskId: string, by: string) {
  const { rows } = await sql<{ blocker_id: string; task_id: string }>`
    update task_blockers set resolved_at = now(), resolved_by = ${by}
    where project_id = ${projectId} and on_task_id = ${onTaskId} and resolved_at is null
    returning id as blocker_id, task_id`.execute(trx);
  return rows;
}

export async function hasOpenBlockers(
  trx: Trx,
  projectId: string,
  taskId: string,
): Promise<boolean> {
  const row = await trx
    .selectFrom('task_blockers')
    .select('id')
    .where('project_id', '=', projectId)
    .where('task_id', '=', taskId)
    .where('resolved_at', 'is', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Returns claimed tasks whose holder has shown no liveness for the task's hold_seconds to the
 * pool (open, unassigned). Row locks make concurrent callers reclaim each task once.
 */
export async function reclaimStaleTasks(trx: Trx, projectId: string) {
  const { rows } = await sql<{
    task_id: string;
    previous_owner: string | null;
    hold_seconds: number;
  }>`
    with stale as (
      select t.id, t.hold_seconds, ${ACTOR_OF('t.owner_participation_id')} as previous_owner
      from tasks t
      left join participations pa on pa.project_id = t.project_id and pa.id = t.owner_participation_id
      where t.project_id = ${projectId} and t.status = 'in_progress' and t.hold_seconds is not null
        and (pa.last_seen_at is null or pa.last_seen_at < now() - make_interval(secs => t.hold_seconds))
      for update of t skip locked
    )
    update tasks t set status = 'open', owner_participation_id = null, started_at = null,
                       hold_seconds = null, updated_at = now()
    from stale where t.project_id = ${projectId} and t.id = stale.id
    returning t.id as task_id, stale.previous_owner, stale.hold_seconds`.execute(trx);
  return rows;
}

/**
 * Takes the oldest ready task (in the lane) that is unassigned or assigned to me. SKIP LOCKED
 * lets concurrent callers pass over a task another caller is taking, so each gets a different
 * task or none; the status test is re-checked on the locked row's latest version.
 */
export async function claimNextTask(
  trx: Trx,
  projectId: string,
  participationId: string,
  lane: string | null,
  holdSeconds: number,
): Promise<string | undefined> {
  const { rows } = await sql<{ id: string }>`
    with candidate as (
      select t.id from tasks t
      where t.project_id = ${projectId} and t.status in ('open', 'assigned')
        and (t.owner_participation_id is null or t.owner_participation_id = ${participationId})
        ${lane === null ? sql`` : sql`and t.lane = ${lane}`}
        and ${READY('t')}
      order by t.id
      limit 1
      for update of t skip locked
    )
    update tasks t set status = 'in_progress', owner_participation_id = ${participationId},
                       started_at = now(), hold_seconds = ${holdSeconds}, updated_at = now()
    from candidate where t.project_id = ${projectId} and t.id = candidate.id
    returning t.id`.execute(trx);
  return rows[0]?.id;
}

export interface TaskFilter {
  status?: TaskStatus;
  ownerParticipationId?: string;
  lane?: string;
  readyOnly?: boolean;
  afterId?: string;
  limit: number;
}

export async function listTasks(
  db: Executor,
  projectId: string,
  f: TaskFilter,
): Promise<TaskRow[]> {
  const where: RawBuilder<unknown>[] = [sql`t.project_id = ${projectId}`];
  if (f.status) where.push(sql`t.status = ${f.status}`);
  if (f.ownerParticipationId) where.push(sql`t.owner_participation_id = ${f.ownerParticipationId}`);
  if (f.lane) where.push(sql`t.lane = ${f.lane}`);
  if (f.readyOnly) where.push(READY('t'));
  if (f.afterId) where.push(sql`t.id > ${f.afterId}`);
  const { rows } = await sql<TaskRow>`select ${TASK_COLUMNS} from tasks t
    where ${sql.join(where, sql` and `)} order by t.id limit ${f.limit}`.execute(db);
  return rows;
}

export async function taskHistory(db: Executor, projectId: string, taskId: string, limit: number) {
  return db
    .selectFrom('events')
    .select(['seq', 'type', 'actor', 'at', 'data'])
    .where('project_id', '=', projectId)
    .where('task_id', '=', taskId)
    .orderBy('seq')
    .limit(limit)
    .execute();
}
