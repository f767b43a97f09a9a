import { describe, expect, it } from 'vitest';
import { useTestBaton } from '../../test/helpers/baton.js';
import { ledger } from '../../test/helpers/agents.js';
import { commit, makeRepo, useSourcePreCommit, type Repo, participant } from './helpers.js';

// The git pre-commit hook, run by a real `git commit` in a throwaway repository: the lease guard
// for every staged path and the claim check for numbered files the commit adds.

const baton = useTestBaton();

const who = (project: string, label: string) => participant(baton, project, label);

function repoWithHook(): Repo {
  const repo = makeRepo();
  useSourcePreCommit(repo);
  return repo;
}

const commits = (repo: Repo) => Number(repo.git('rev-list', '--count', 'HEAD').trim());

describe('lease guard', () => {
  it('refuses a commit touching a path another participant holds exclusively, naming holder and expiry', async () => {
    const ana = await who('lg-held', 'ana');
    const bo = await who('lg-held', 'bo');
    const lease = await ana.api('lease', { surface: 'src/db/**', ttl_seconds: 600 });
    expect(lease.status).toBe(200);
    const repo = repoWithHook();
    repo.write('src/db/pool.ts');
    repo.write('src/http/server.ts');
    repo.git('add', '-A');

    const r = await commit(repo, 'pool sizing', bo);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch('Baton refused this commit');
    expect(r.stderr).toMatch(
      `src/db/pool.ts: held exclusively by ${ana.actor} (lease \`src/db/**\`) until ${lease.body.expires_at} (in 10 min)`,
    );
    expect(r.stderr).not.toMatch('src/http/server.ts');
    expect(r.stderr).toMatch('BATON_OVERRIDE=1');
    expect(commits(repo)).toBe(1);

    const forced = await commit(repo, 'pool sizing', bo, { BATON_OVERRIDE: '1' });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/BATON_OVERRIDE is set: allowed what Baton refused/);
    expect(commits(repo)).toBe(2);
    expect(repo.log('overrides')).toEqual([
      expect.objectContaining({
        hook: 'pre-commit',
        refused: expect.stringContaining(ana.actor),
        leases: [
          {
            path: 'src/db/pool.ts',
            holders: [
              { actor: ana.actor, surface: 'src/db/**', expires_at: lease.body.expires_at },
            ],
          },
        ],
      }),
    ]);
  });

  it("lets through the committer's own leases, others' shared leases, and paths nobody holds", async () => {
    const ana = await who('lg-free', 'ana');
    const bo = await who('lg-free', 'bo');
    await ana.api('lease', { surface: 'docs/', mode: 'shared' });
    await bo.api('lease', { surface: 'src/mine.ts' });
    const repo = repoWithHook();
    repo.write('docs/guide.md');
    repo.write('src/mine.ts');
    repo.write('src/free.ts');
    repo.git('add', '-A');
    const r = await commit(repo, 'free to go', bo);
    expect([r.code, r.stderr]).toEqual([0, '']);
  });

  it('guards deleted and renamed paths and names with spaces or accents too', async () => {
    const ana = await who('lg-paths', 'ana');
    const bo = await who('lg-paths', 'bo');
    const repo = repoWithHook();
    repo.write('old name.ts');
    repo.write('src/naïve.ts');
    repo.git('add', '-A');
    expect((await commit(repo, 'setup', bo)).code).toBe(0);
    await ana.api('lease', { surface: 'old name.ts' });
    await ana.api('lease', { surface: 'src/naïve.ts' });
    repo.git('mv', 'old name.ts', 'new name.ts');
    repo.git('rm', '-q', 'src/naïve.ts');
    const r = await commit(repo, 'rename and delete', bo);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(`old name.ts: held exclusively by ${ana.actor}`);
    expect(r.stderr).toMatch(`src/naïve.ts: held exclusively by ${ana.actor}`);
  });
});

describe('claim check at commit', () => {
  it('claims the next numbers for files the commit adds, in order', async () => {
    const bo = await who('cc-next', 'bo');
    const repo = repoWithHook();
    repo.write('docs/adr/0001-a.md');
    repo.write('docs/adr/0002-b.md');
    repo.git('add', '-A');
    const r = await commit(repo, 'two decisions', bo);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch('claimed 1 of `adr` for you');
    expect(r.stderr).toMatch('claimed 2 of `adr` for you');
    expect(
      (await ledger(baton, 'cc-next', 'claim')).map((e) => [e.actor, e.data.number, e.ref]),
    ).toEqual([
      [bo.actor, 1, 'docs/adr/0001-a.md'],
      [bo.actor, 2, 'docs/adr/0002-b.md'],
    ]);
    // Editing them later is not naming them again.
    repo.write('docs/adr/0001-a.md', 'changed\n');
    repo.git('add', '-A');
    expect((await commit(repo, 'edit', bo)).code).toBe(0);
    expect(await ledger(baton, 'cc-next', 'claim')).toHaveLength(2);
  });

  it('refuses a commit adding a number someone else holds, naming them and the number claimed for the committer', async () => {
    const ana = await who('cc-taken', 'ana');
    const bo = await who('cc-taken', 'bo');
    await ana.api('claim', { sequence: 'adr', ref: 'docs/adr/0001-theirs.md' });
    const repo = repoWithHook();
    repo.write('docs/adr/0001-mine.md');
    repo.git('add', '-A');
    const r = await commit(repo, 'my decision', bo);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(`1 of \`adr\` is already claimed by ${ana.actor}`);
    expect(r.stderr).toMatch('Baton has just claimed 2 of `adr` for you');
    expect(r.stderr).toMatch('git mv it to docs/adr/0002-mine.md');
    expect((await bo.api('who_claimed', { sequence: 'adr', number: 2 })).body.by).toBe(bo.actor);
    expect(commits(repo)).toBe(1);
    // Retrying the same commit does not claim yet another number; the renamed file goes in.
    expect((await commit(repo, 'my decision', bo)).stderr).toMatch('claimed 2 of `adr`');
    repo.git('mv', 'docs/adr/0001-mine.md', 'docs/adr/0002-mine.md');
    expect((await commit(repo, 'my decision', bo)).code).toBe(0);
    expect(await ledger(baton, 'cc-taken', 'claim')).toHaveLength(2);
  });

  it('reports refused claims and held paths together', async () => {
    const ana = await who('cc-both', 'ana');
    const bo = await who('cc-both', 'bo');
    await ana.api('claim', { sequence: 'adr' });
    await ana.api('lease', { surface: 'src/' });
    const repo = repoWithHook();
    repo.write('docs/adr/0001-x.md');
    repo.write('src/a.ts');
    repo.git('add', '-A');
    const r = await commit(repo, 'both', bo);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(`1 of \`adr\` is already claimed by ${ana.actor}`);
    expect(r.stderr).toMatch(`src/a.ts: held exclusively by ${ana.actor} (lease \`src/\`)`);
  });

  it("concluding a merge checks only the merge's own changes, not what the other branch brought", async () => {
    const ana = await who('cc-merge', 'ana');
    const bo = await who('cc-merge', 'bo');
    const repo = repoWithHook();
    // ana's branch: a new ADR (its number claimed at her commit) and an edit of a file she holds.
    repo.git('checkout', '-q', '-b', 'ana-work');
    repo.write('docs/adr/0001-from-ana.md');
    repo.write('src/held.ts');
    repo.write('README.md', 'ana\n');
    repo.git('add', '-A');
    expect((await commit(repo, 'ana', ana)).code).toBe(0);
    await ana.api('lease', { surface: 'src/held.ts' });
    // bo's side conflicts in README.md, so git stops and bo concludes the merge with a commit.
    repo.git('checkout', '-q', 'main');
    repo.write('README.md', 'bo\n');
    repo.git('add', '-A');
    expect((await commit(repo, 'bo', bo)).code).toBe(0);
    expect(() => repo.git('merge', '-q', 'ana-work')).toThrow();
    repo.write('README.md', 'ana and bo\n');
    repo.git('add', 'README.md');
    const r = await commit(repo, 'merge ana-work', bo);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect((await ledger(baton, 'cc-merge', 'claim')).map((e) => [e.actor, e.data.number])).toEqual(
      [[ana.actor, 1]],
    );
  });
});
