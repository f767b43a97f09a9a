import { describe, expect, it } from 'vitest';
import { liveLeases } from '../src/db/leases.js';
import { dependencies, getTask } from '../src/db/tasks.js';
import { rolledBack, useTestDatabase } from './helpers/db.js';
import {
  makeLease,
  makeParticipation,
  makeProject,
  makeTask,
  type MadeProject,
} from './helpers/factories.js';

// The row factories themselves: rows of their own on every call, gone with a rolled-back
// transaction, committed on the pool.

const t = useTestDatabase();

const stored = async (project: MadeProject) =>
  t.db.selectFrom('projects').select('slug').where('id', '=', project.id).executeTakeFirst();

describe('factories', () => {
  it('make rows of their own on every call', async () => {
    await rolledBack(t.db, async (trx) => {
      const [a, b] = [await makeProject(trx), await makeProject(trx)];
      expect(a.slug).not.toBe(b.slug);
      expect(a.owner.handle).not.toBe(b.owner.handle);
      const [x, y] = [await makeParticipation(trx, { project: a }), await makeParticipation(trx)];
      expect(x.label).not.toBe(y.label);
      expect(x.actor).toBe(`${a.owner.handle}/${x.label}`);
      expect(y.project.id).not.toBe(a.id);
    });
  });

  it('leave nothing behind in a rolled-back test, and commit on the pool', async () => {
    let inside: MadeProject | undefined;
    await rolledBack(t.db, async (trx) => {
      inside = await makeProject(trx);
    });
    expect(await stored(inside as MadeProject)).toBeUndefined();
    const committed = await makeProject(t.db);
    expect(await stored(committed)).toEqual({ slug: committed.slug });
  });

  it('make tasks with an owner, a status, a parent and dependencies', async () => {
    await rolledBack(t.db, async (trx) => {
      const project = await makeProject(trx);
      const owner = await makeParticipation(trx, { project });
      const parent = await makeTask(trx, { project });
      const dep = await makeTask(trx, { project, status: 'done' });
      const task = await makeTask(trx, {
        project,
        owner,
        parent: parent.id,
        dependsOn: [dep.id],
        lane: 'api',
      });
      expect(await getTask(trx, project.id, task.id)).toMatchObject({
        status: 'assigned',
        owner: owner.actor,
        parent_id: parent.id,
        lane: 'api',
        ready: true,
      });
      expect(await dependencies(trx, project.id, task.id)).toEqual([
        expect.objectContaining({ task_id: dep.id, status: 'done' }),
      ]);
      const claimed = await makeTask(trx, {
        project,
        owner,
        status: 'in_progress',
        holdSeconds: 60,
      });
      expect(await getTask(trx, project.id, claimed.id)).toMatchObject({
        status: 'in_progress',
        hold_seconds: 60,
        started_at: expect.any(Date),
      });
    });
  });

  it('make live and expired leases with rising fencing tokens', async () => {
    await rolledBack(t.db, async (trx) => {
      const holder = await makeParticipation(trx);
      const live = await makeLease(trx, { holder });
      const expired = await makeLease(trx, { holder, ttlSeconds: -60, mode: 'shared' });
      expect(Number(expired.fencing_token)).toBeGreaterThan(Number(live.fencing_token));
      expect(live.surface).not.toBe(expired.surface);
      expect(expired).toMatchObject({ live: false, mode: 'shared', actor: holder.actor });
      expect((await liveLeases(trx, holder.project.id)).map((l) => l.id)).toEqual([live.id]);
    });
  });
});
