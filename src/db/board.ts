import { sql } from 'kysely';
import type { TaskStatus } from './schema.js';
import type { Executor } from './pool.js';
import { READY } from './tasks.js';

// What the web board reads beyond the status rollup: the task graph with its edges, and the
// latest posts. Owner-scoped like the rest of the admin's SQL (see admin.ts).

export interface GraphTask {
  task_id: string;
  title: string;
  lane: string | null;
  status: TaskStatus;
  owner: string | null;
  ready: boolean;
}

/**
 * The tasks worth drawing: every unfinished one (up to `limit`), what they depend on, and the
 * last few that finished, so a fresh ship stays visible for a while.
 */
export async function graphTasks(
  db: Executor,
  ownerId: string,
  projectId: string,
  limit: number,
): Promise<GraphTask[]> {
  const { rows } = await sql<GraphTask>`
    with unfinished as (
      select id from tasks
      where project_id = ${projectId} and status not in ('done', 'cancelled')
      order by id limit ${limit}
    ), finished as (
      select id from tasks
      where project_id = ${projectId} and status in ('done', 'cancelled')
      order by updated_at desc, id desc limit 12
    ), prerequisites as (
      select d.depends_on as id from task_deps d
      join unfinished u on u.id = d.task_id
      where d.project_id = ${projectId}
    ), shown as (
      select id from unfinished union select id from finished union select id from prerequisites
    )
    select t.id as task_id, t.title, t.lane, t.status,
           o.handle || '/' || p.label as owner, ${READY('t')} as ready
    from tasks t
    join shown s on s.id = t.id
    join projects pr on pr.id = t.project_id and pr.owner_id = ${ownerId}
    left join participations pa on pa.project_id = t.project_id and pa.id = t.owner_participation_id
    left join participants p on p.id = pa.participant_id
    left join owners o on o.id = p.owner_id
    where t.project_id = ${projectId}
    order by t.id`.execute(db);
  return rows;
}

export interface GraphEdge {
  /** The task that must finish first. */
  from: string;
  /** The task that waits for it. */
  to: string;
  kind: 'depends' | 'blocks';
}

/** Dependencies, and open blockers that name a task, among the given tasks. */
export async function graphEdges(
  db: Executor,
  ownerId: string,
  projectId: string,
  taskIds: readonly string[],
): Promise<GraphEdge[]> {
  if (taskIds.length === 0) return [];
  const { rows } = await sql<GraphEdge>`
    select d.depends_on as "from", d.task_id as "to", 'depends' as kind
    from task_deps d
    join projects pr on pr.id = d.project_id and pr.owner_id = ${ownerId}
    where d.project_id = ${projectId} and d.task_id = any(${taskIds}::bigint[])
      and d.depends_on = any(${taskIds}::bigint[])
    union all
    select b.on_task_id, b.task_id, 'blocks'
    from task_blockers b
    join projects pr on pr.id = b.project_id and pr.owner_id = ${ownerId}
    where b.project_id = ${projectId} and b.resolved_at is null
      and b.task_id = any(${taskIds}::bigint[]) and b.on_task_id = any(${taskIds}::bigint[])
    order by 1, 2`.execute(db);
  return rows;
}

export interface BoardPost {
  post_id: string;
  sender_actor: string;
  to_actor: string | null;
  to_lane: string | null;
  broadcast: boolean;
  subject: string | null;
  excerpt: string;
  tag: string | null;
  created_at: Date;
  recipients: number;
  acked: number;
}

export async function recentPosts(
  db: Executor,
  ownerId: string,
  projectId: string,
  limit: number,
): Promise<BoardPost[]> {
  const { rows } = await sql<BoardPost>`
    select po.id as post_id, po.sender_actor, po.to_actor, po.to_lane, po.broadcast, po.subject,
           left(po.body, 240) as excerpt, po.tag, po.created_at,
           (select count(*) from post_recipients r
            where r.project_id = po.project_id and r.post_id = po.id)::int as recipients,
           (select count(*) from post_recipients r
            where r.project_id = po.project_id and r.post_id = po.id
              and r.acked_at is not null)::int as acked
    from posts po
    join projects pr on pr.id = po.project_id and pr.owner_id = ${ownerId}
    where po.project_id = ${projectId}
    order by po.id desc
    limit ${limit}`.execute(db);
  return rows;
}
