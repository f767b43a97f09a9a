import { describe, expect, it } from 'vitest';
import { ownsPath, type PathIds } from '../src/db/admin.js';
import type { Trx } from '../src/db/pool.js';
import { rolledBack, useTestDatabase } from './helpers/db.js';
import { makeInvite, makeParticipation, makeProject, makeTask } from './helpers/factories.js';

// ownsPath decides, before any web admin handler runs, whether every id in a path is the
// signed-in owner's. Rolled-back tests on rows the factories make; web-isolation.test.ts drives
// the same check through every route.

const t = useTestDatabase();

/** Two owners, each with a project, a participation, an invite; the first has a second project. */
async function twoOwners(trx: Trx) {
  const project = await makeProject(trx);
  const owner = project.owner.id;
  const mine = {
    project: project.id,
    participation: (await makeParticipation(trx, { project })).id,
    invite: (await makeInvite(trx, { project })).id,
    participant: (await makeParticipation(trx, { project })).participantId,
  };
  const second = await makeProject(trx, { owner: project.owner });
  const secondParticipation = await makeParticipation(trx, { project: second });
  const secondInvite = await makeInvite(trx, { project: second });
  const other = await makeProject(trx);
  const theirs = {
    project: other.id,
    participation: (await makeParticipation(trx, { project: other })).id,
    invite: (await makeInvite(trx, { project: other })).id,
    participant: (await makeParticipation(trx, { project: other })).participantId,
  };
  const task = await makeTask(trx, { project });
  return {
    owner,
    mine,
    theirs,
    second: { participation: secondParticipation.id, invite: secondInvite.id },
    task,
  };
}

describe('ownsPath', () => {
  it("accepts the owner's own ids, alone and together", async () => {
    await rolledBack(t.db, async (trx) => {
      const { owner, mine } = await twoOwners(trx);
      const paths: PathIds[] = [
        { project: mine.project },
        { project: mine.project, participation: mine.participation },
        { project: mine.project, invite: mine.invite },
        { participant: mine.participant },
        mine,
      ];
      for (const ids of paths)
        expect(await ownsPath(trx, owner, ids), JSON.stringify(ids)).toBe(true);
    });
  });

  it("refuses another owner's ids of every kind", async () => {
    await rolledBack(t.db, async (trx) => {
      const { owner, theirs } = await twoOwners(trx);
      const paths: PathIds[] = [
        { project: theirs.project },
        { project: theirs.project, participation: theirs.participation },
        { project: theirs.project, invite: theirs.invite },
        { participant: theirs.participant },
        { project: '999999999' },
      ];
      for (const ids of paths) {
        expect(await ownsPath(trx, owner, ids), JSON.stringify(ids)).toBe(false);
      }
    });
  });

  it("refuses a path mixing the owner's ids with another's, or with another project's", async () => {
    await rolledBack(t.db, async (trx) => {
      const { owner, mine, theirs, second } = await twoOwners(trx);
      const paths: PathIds[] = [
        { project: mine.project, participation: theirs.participation },
        { project: mine.project, invite: theirs.invite },
        { project: theirs.project, participation: mine.participation },
        { project: theirs.project, invite: mine.invite },
        { ...mine, participant: theirs.participant },
        // The owner's own participation and invite, but of another project than the path's.
        { project: mine.project, participation: second.participation },
        { project: mine.project, invite: second.invite },
        // A participation or an invite belongs to a project: without one named, it is no one's.
        { participation: mine.participation },
        { invite: mine.invite },
      ];
      for (const ids of paths) {
        expect(await ownsPath(trx, owner, ids), JSON.stringify(ids)).toBe(false);
      }
    });
  });

  it('refuses a path parameter it does not know, even beside ids the owner owns', async () => {
    await rolledBack(t.db, async (trx) => {
      const { owner, mine, task } = await twoOwners(trx);
      expect(await ownsPath(trx, owner, { project: mine.project })).toBe(true);
      // A task of the owner's own project: an id this check cannot vouch for is not assumed owned.
      const withTask = { project: mine.project, task: task.id } as PathIds;
      expect(await ownsPath(trx, owner, withTask)).toBe(false);
      expect(await ownsPath(trx, owner, { lease: '1' } as PathIds)).toBe(false);
    });
  });
});
