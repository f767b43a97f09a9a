import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Trx } from '../src/db/pool.js';
import type { TaskStatus } from '../src/db/schema.js';
import {
  claimNextTask,
  getTask,
  insertBlocker,
  insertDeps,
  listTasks,
  lockTask,
  reclaimStaleTasks,
  resolveBlockers,
  updateTask,
  wouldCycle,
} from '../src/db/tasks.js';
import { rolledBack, useTestDatabase } from './helpers/db.js';
import { makeParticipation, makeProject, makeTask, type MadeProject } from './helpers/factories.js';

// The task graph's statements (src/db/tasks.ts) on their own, below the tools: each test runs in
// a transaction that is rolled back, on rows the factories make for it. Only SKIP LOCKED needs
// rows two connections can see, so its fixture commits to this file's own database.

const t = useTestDatabase();

/** Readiness as task_get and list_tasks(ready_only) report it; the two must agree. */
async function isReady(trx: Trx, project: MadeProject, taskId: string): Promise<boolean> {
  const one = (await getTask(trx, project.id, taskId))?.ready;
  const listed = await listTasks(trx, project.id, { readyOnly: true, limit: 1000 });
  expect(listed.some((r) => r.task_id === taskId)).toBe(one);
  return one as boolean;
}

const setStatus = (trx: Trx, project: MadeProject, taskId: string, status: TaskStatus) =>
  updateTask(trx, project.id, taskId, { status });

const block = (trx: Trx, project: MadeProject, taskId: string, onTaskId: string | null = null) =>
  insertBlocker(trx, project.id, { taskId, onTaskId, reason: 'waits', createdBy: 'test/t' });

describe('READY', () => {
  it('holds for open and assigned tasks only', async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const task = await makeTask(trx, { project });
      expect(await isReady(trx, project, task.id)).toBe(true);
      const expected: [TaskStatus, boolean][] = [
        ['in_progress', false],
        ['assigned', true],
        ['blocked', false],
        ['done', false],
        ['cancelled', false],
        ['open', true],
      ];
      for (const [status, ready] of expected) {
        await setStatus(trx, project, task.id, status);
        expect(await isReady(trx, project, task.id), status).toBe(ready);
      }
    });
  });

  it('waits until every dependency is done; cancelled is not done', async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const first = await makeTask(trx, { project });
      const second = await makeTask(trx, { project });
      const task = await makeTask(trx, { project, dependsOn: [first.id, second.id] });
      expect(await isReady(trx, project, task.id)).toBe(false);
      await setStatus(trx, project, first.id, 'done');
      expect(await isReady(trx, project, task.id)).toBe(false);
      await setStatus(trx, project, second.id, 'cancelled');
      expect(await isReady(trx, project, task.id)).toBe(false);
      await setStatus(trx, project, second.id, 'done');
      expect(await isReady(trx, project, task.id)).toBe(true);
    });
  });

  it('waits while any blocker is open, with or without `on`', async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const other = await makeTask(trx, { project });
      const task = await makeTask(trx, { project });
      await block(trx, project, task.id);
      expect(await isReady(trx, project, task.id)).toBe(false);
      expect(await resolveBlockers(trx, project.id, task.id, 'test/t')).toHaveLength(1);
      expect(await isReady(trx, project, task.id)).toBe(true);
      const one = await block(trx, project, task.id, other.id);
      await block(trx, project, task.id, other.id);
      expect(await isReady(trx, project, task.id)).toBe(false);
      await resolveBlockers(trx, project.id, task.id, 'test/t', one);
      expect(await isReady(trx, project, task.id)).toBe(false);
      await resolveBlockers(trx, project.id, task.id, 'test/t');
      expect(await isReady(trx, project, task.id)).toBe(true);
    });
  });

  it("counts only the task's own dependencies and blockers, not theirs", async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const deep = await makeTask(trx, { project });
      const dep = await makeTask(trx, { project, dependsOn: [deep.id] });
      const task = await makeTask(trx, { project, dependsOn: [dep.id] });
      const neighbour = await makeTask(trx, { project, dependsOn: [deep.id] });
      await block(trx, project, neighbour.id, deep.id);
      // The dependency is done although its own dependency is not: that is the dependency's story.
      await setStatus(trx, project, dep.id, 'done');
      expect(await isReady(trx, project, task.id)).toBe(true);
      expect(await isReady(trx, project, neighbour.id)).toBe(false);
      expect(await isReady(trx, project, deep.id)).toBe(true);
    });
  });
});

describe('wouldCycle', () => {
  it('refuses waiting for oneself', async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const task = await makeTask(trx, { project });
      expect(await wouldCycle(trx, project.id, task.id, task.id)).toBe(true);
    });
  });

  it('finds a cycle closed directly or transitively along depends_on', async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const c = await makeTask(trx, { project });
      const b = await makeTask(trx, { project, dependsOn: [c.id] });
      const a = await makeTask(trx, { project, dependsOn: [b.id] });
      const loner = await makeTask(trx, { project });
      // "x waits for y" closes a cycle when y already (transitively) waits for x.
      expect(await wouldCycle(trx, project.id, b.id, a.id)).toBe(true);
      expect(await wouldCycle(trx, project.id, c.id, a.id)).toBe(true);
      expect(await wouldCycle(trx, project.id, c.id, b.id)).toBe(true);
      // Waiting in the direction the graph already points is no cycle.
      expect(await wouldCycle(trx, project.id, a.id, c.id)).toBe(false);
      expect(await wouldCycle(trx, project.id, a.id, b.id)).toBe(false);
      expect(await wouldCycle(trx, project.id, loner.id, a.id)).toBe(false);
      expect(await wouldCycle(trx, project.id, a.id, loner.id)).toBe(false);
    });
  });

  it("follows open blockers' `on` as edges, and forgets them once resolved", async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const d = await makeTask(trx, { project });
      const c = await makeTask(trx, { project, dependsOn: [d.id] });
      const b = await makeTask(trx, { project });
      const a = await makeTask(trx, { project, dependsOn: [b.id] });
      await block(trx, project, b.id, c.id);
      // a → b (depends_on), b → c (blocker), c → d (depends_on)
      expect(await wouldCycle(trx, project.id, c.id, b.id)).toBe(true);
      expect(await wouldCycle(trx, project.id, d.id, a.id)).toBe(true);
      await resolveBlockers(trx, project.id, b.id, 'test/t');
      expect(await wouldCycle(trx, project.id, c.id, b.id)).toBe(false);
      expect(await wouldCycle(trx, project.id, d.id, a.id)).toBe(false);
    });
  });

  it("walks only the project's own edges", async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const b = await makeTask(trx, { project });
      const a = await makeTask(trx, { project, dependsOn: [b.id] });
      const elsewhere = await makeProject(trx);
      expect(await wouldCycle(trx, project.id, b.id, a.id)).toBe(true);
      expect(await wouldCycle(trx, elsewhere.id, b.id, a.id)).toBe(false);
    });
  });

  it('ends its walk on a graph that already has a cycle', async () => {
    await rolledBack(t.db, async (trx) => {
      // A walk that revisits would run until the statement timeout; make that quick to see.
      await sql`set local statement_timeout = '10s'`.execute(trx);
      const project = await makeProject(trx);
      const x = await makeTask(trx, { project });
      const y = await makeTask(trx, { project, dependsOn: [x.id] });
      const outsider = await makeTask(trx, { project });
      // The tools never let this in; inserted directly, it is a graph the walk must survive.
      await insertDeps(trx, project.id, x.id, [y.id]);
      expect(await wouldCycle(trx, project.id, outsider.id, x.id)).toBe(false);
      expect(await wouldCycle(trx, project.id, y.id, x.id)).toBe(true);
    });
  });
});

describe('reclaimStaleTasks', () => {
  it("returns a claimed task to the pool once its holder is silent longer than the task's hold", async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      // Liveness is judged by the database clock: backdated, never waited for.
      const silent = await makeParticipation(trx, { project, seenSecondsAgo: 600 });
      const live = await makeParticipation(trx, { project, seenSecondsAgo: 5 });
      const never = await makeParticipation(trx, { project });
      const claimed = (owner: typeof silent, holdSeconds: number) =>
        makeTask(trx, { project, owner, status: 'in_progress', holdSeconds });

      const overdue = await claimed(silent, 300);
      const withinHold = await claimed(silent, 3600);
      const liveHolder = await claimed(live, 300);
      const neverSeen = await claimed(never, 300);
      // Started with task_start (no hold), or not in progress: never reclaimed.
      const started = await makeTask(trx, { project, owner: silent, status: 'in_progress' });
      const startedUnseen = await makeTask(trx, { project, owner: never, status: 'in_progress' });
      const blocked = await makeTask(trx, {
        project,
        owner: silent,
        status: 'blocked',
        holdSeconds: 300,
      });
      const assigned = await makeTask(trx, { project, owner: silent, holdSeconds: 300 });

      const reclaimed = await reclaimStaleTasks(trx, project.id);
      expect(reclaimed.sort((p, q) => Number(p.task_id) - Number(q.task_id))).toEqual([
        { task_id: overdue.id, previous_owner: silent.actor, hold_seconds: 300 },
        { task_id: neverSeen.id, previous_owner: never.actor, hold_seconds: 300 },
      ]);
      for (const { id } of [overdue, neverSeen]) {
        expect(await getTask(trx, project.id, id)).toMatchObject({
          status: 'open',
          owner_participation_id: null,
          started_at: null,
          hold_seconds: null,
          ready: true,
        });
      }
      const kept: [string, TaskStatus][] = [
        [withinHold.id, 'in_progress'],
        [liveHolder.id, 'in_progress'],
        [started.id, 'in_progress'],
        [startedUnseen.id, 'in_progress'],
        [blocked.id, 'blocked'],
        [assigned.id, 'assigned'],
      ];
      for (const [id, status] of kept) {
        expect((await getTask(trx, project.id, id))?.status, id).toBe(status);
      }
      expect(await reclaimStaleTasks(trx, project.id)).toEqual([]);
    });
  });

  it("never touches another project's tasks", async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const elsewhere = await makeProject(trx);
      const silent = await makeParticipation(trx, { project: elsewhere, seenSecondsAgo: 600 });
      const task = await makeTask(trx, {
        project: elsewhere,
        owner: silent,
        status: 'in_progress',
        holdSeconds: 60,
      });
      expect(await reclaimStaleTasks(trx, project.id)).toEqual([]);
      expect((await getTask(trx, elsewhere.id, task.id))?.status).toBe('in_progress');
    });
  });
});

describe('claimNextTask', () => {
  it('takes the oldest ready task in the lane that is unassigned or mine, and starts it for me', async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const me = await makeParticipation(trx, { project });
      const other = await makeParticipation(trx, { project });
      await makeTask(trx, { project, owner: other }); // ready, but someone else's
      const gate = await makeTask(trx, { project, owner: other, status: 'in_progress' });
      await makeTask(trx, { project, dependsOn: [gate.id] }); // waits on the gate
      const blocked = await makeTask(trx, { project });
      await block(trx, project, blocked.id);
      const docs = await makeTask(trx, { project, lane: 'docs' });
      const mine = await makeTask(trx, { project, owner: me });
      const free = await makeTask(trx, { project });

      expect(await claimNextTask(trx, project.id, me.id, 'api', 120)).toBeUndefined();
      expect(await claimNextTask(trx, project.id, me.id, 'docs', 120)).toBe(docs.id);
      expect(await getTask(trx, project.id, docs.id)).toMatchObject({
        status: 'in_progress',
        owner_participation_id: me.id,
        hold_seconds: 120,
        started_at: expect.any(Date),
      });
      expect(await claimNextTask(trx, project.id, me.id, 'docs', 120)).toBeUndefined();
      expect(await claimNextTask(trx, project.id, me.id, null, 120)).toBe(mine.id);
      expect(await claimNextTask(trx, project.id, me.id, null, 120)).toBe(free.id);
      expect(await claimNextTask(trx, project.id, me.id, null, 120)).toBeUndefined();
    });
  });

  it('skips a task another transaction has locked and takes the next, without waiting', async () => {
    // Two connections must see the tasks, so this fixture commits (to this file's database).
    const project = await makeProject(t.db);
    const one = await makeParticipation(t.db, { project });
    const two = await makeParticipation(t.db, { project });
    const first = await makeTask(t.db, { project });
    const second = await makeTask(t.db, { project });
    const third = await makeTask(t.db, { project });

    await rolledBack(t.db, async (a) => {
      expect(await claimNextTask(a, project.id, one.id, null, 60)).toBe(first.id);
      // Any transition's row lock (task_start locks with lockTask) is passed over the same way.
      await lockTask(a, project.id, second.id);
      await rolledBack(t.db, async (b) => {
        // Without SKIP LOCKED this would wait for `a`, which waits for us: fail instead.
        await sql`set local lock_timeout = '10s'`.execute(b);
        expect(await claimNextTask(b, project.id, two.id, null, 60)).toBe(third.id);
        expect(await claimNextTask(b, project.id, two.id, null, 60)).toBeUndefined();
      });
    });

    // Both rolled back: every task is free again, and the oldest goes first.
    await rolledBack(t.db, async (c) => {
      expect(await claimNextTask(c, project.id, two.id, null, 60)).toBe(first.id);
    });
  });
});
