import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTestBaton } from '../../test/helpers/baton.js';
import { ledger } from '../../test/helpers/agents.js';
import {
  claimReconcile,
  deadEndpoint,
  hookEnv,
  hookScript,
  makeRepo,
  run,
  writeCall,
  participant,
} from './helpers.js';

// The PreToolUse hook on Write|Edit|MultiEdit, run as Claude Code runs it: a child process with
// the tool call as JSON on stdin, against a real Baton. Exit 2 with stderr is Claude Code's
// blocking form: the write does not happen and the model reads the reason.

const baton = useTestBaton();

const who = (project: string, label: string) => participant(baton, project, label);

async function claimsOf(project: string) {
  return (await ledger(baton, project, 'claim')).map((e) => [e.actor, e.data.number, e.ref]);
}

const CLAIMED_FOR_YOU = /Baton has just claimed (\d+) of `adr` for you/;

describe('claim reconcile before a write', () => {
  it('refuses a number another participant holds, naming the holder and a number just claimed for the writer', async () => {
    const ana = await who('cr-taken', 'ana');
    const bo = await who('cr-taken', 'bo');
    await ana.api('seed_sequence', { sequence: 'adr', current: 6 });
    await ana.api('claim', { sequence: 'adr', ref: 'docs/adr/0007-caching.md' });
    const repo = makeRepo();

    const r = await claimReconcile(repo, 'docs/adr/0007-queues.md', bo);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      `7 of \`adr\` is already claimed by ${ana.actor} (for docs/adr/0007-caching.md)`,
    );
    const mine = Number(CLAIMED_FOR_YOU.exec(r.stderr)?.[1]);
    expect(mine).toBe(8);
    expect(r.stderr).toMatch('name the file docs/adr/0008-queues.md instead');
    const held = await bo.api('who_claimed', { sequence: 'adr', number: mine });
    expect(held.body).toMatchObject({ by: bo.actor, ref: 'docs/adr/0007-queues.md' });
    expect(repo.exists('docs/adr/0007-queues.md')).toBe(false);

    // The model retrying the same refused write gets the same number back, not another one.
    const again = await claimReconcile(repo, 'docs/adr/0007-queues.md', bo);
    expect(again.code).toBe(2);
    expect(Number(CLAIMED_FOR_YOU.exec(again.stderr)?.[1])).toBe(8);
    // Writing the file under the number it was given goes through, claiming nothing more.
    const renamed = await claimReconcile(repo, 'docs/adr/0008-queues.md', bo);
    expect([renamed.code, renamed.stderr]).toEqual([0, '']);
    expect(await claimsOf('cr-taken')).toEqual([
      [ana.actor, 7, 'docs/adr/0007-caching.md'],
      [bo.actor, 8, 'docs/adr/0007-queues.md'],
    ]);
  });

  it('claims the next number for the writer and allows the write', async () => {
    const bo = await who('cr-next', 'bo');
    await bo.api('seed_sequence', { sequence: 'adr', current: 6 });
    const repo = makeRepo();
    const r = await claimReconcile(repo, 'docs/adr/0007-queues.md', bo);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch('claimed 7 of `adr` for you (docs/adr/0007-queues.md)');
    const held = await bo.api('who_claimed', { sequence: 'adr', number: 7 });
    expect(held.body).toMatchObject({ by: bo.actor, ref: 'docs/adr/0007-queues.md' });
  });

  it("allows the writer's own number without claiming another", async () => {
    const bo = await who('cr-own', 'bo');
    await bo.api('claim', { sequence: 'adr' });
    const repo = makeRepo();
    const r = await claimReconcile(repo, 'docs/adr/0001-first.md', bo);
    expect([r.code, r.stderr]).toEqual([0, '']);
    // A second token of the same participant is the same caller.
    const other = await baton.seed({ projectSlug: 'cr-own', label: 'bo' });
    const r2 = await claimReconcile(repo, 'docs/adr/0001-first.md', {
      url: baton.mcpUrl,
      token: other.token,
    });
    expect(r2.code).toBe(0);
    expect(await claimsOf('cr-own')).toEqual([[bo.actor, 1, null]]);
  });

  it('refuses a number beyond the next, naming the right next number, claimed for the writer', async () => {
    const bo = await who('cr-beyond', 'bo');
    await bo.api('seed_sequence', { sequence: 'adr', current: 6 });
    const repo = makeRepo();
    const r = await claimReconcile(repo, 'docs/adr/0042-leap.md', bo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch('42 skips ahead in `adr`, whose last number is 6');
    expect(Number(CLAIMED_FOR_YOU.exec(r.stderr)?.[1])).toBe(7);
    expect(r.stderr).toMatch('name the file docs/adr/0007-leap.md instead');
    expect((await bo.api('who_claimed', { sequence: 'adr', number: 7 })).body.by).toBe(bo.actor);
  });

  it('of two writers racing for the same next number, exactly one gets it; the other is told its own', async () => {
    const ana = await who('cr-race', 'ana');
    const bo = await who('cr-race', 'bo');
    const repo = makeRepo();
    const [ra, rb] = await Promise.all([
      claimReconcile(repo, 'docs/adr/0001-from-ana.md', ana),
      claimReconcile(repo, 'docs/adr/0001-from-bo.md', bo),
    ]);
    expect([ra.code, rb.code].sort()).toEqual([0, 2]);
    const [winner, loser, lost] = ra.code === 0 ? [ana, bo, rb] : [bo, ana, ra];
    expect((await winner.api('who_claimed', { sequence: 'adr', number: 1 })).body.by).toBe(
      winner.actor,
    );
    expect(lost.stderr).toMatch(winner.actor);
    expect(Number(CLAIMED_FOR_YOU.exec(lost.stderr)?.[1])).toBe(2);
    expect((await loser.api('who_claimed', { sequence: 'adr', number: 2 })).body.by).toBe(
      loser.actor,
    );
  });

  it('seeds a sequence Baton has never seen from the highest number already in the repository', async () => {
    const bo = await who('cr-seed', 'bo');
    const repo = makeRepo();
    for (const n of ['0001-a', '0002-b', '0003-c']) repo.write(`docs/adr/${n}.md`);
    repo.write('docs/adr/0000-template.md');
    const r = await claimReconcile(repo, 'docs/adr/0004-d.md', bo);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch('seeded `adr` at 3');
    expect((await bo.api('who_claimed', { sequence: 'adr', number: 4 })).body.by).toBe(bo.actor);
    // A number the repository used before Baton kept the sequence is not free either.
    const old = await claimReconcile(repo, 'docs/adr/0002-again.md', bo);
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch('2 of `adr` was used before Baton kept this sequence');
    expect(Number(CLAIMED_FOR_YOU.exec(old.stderr)?.[1])).toBe(5);
  });

  it('answers within its budget for a config glob of 30 "**" and a path 20 directories deep', async () => {
    // As a backtracking RegExp, the first glob took from seconds to minutes on such a path,
    // beyond the reach of the hook's watchdog. The hook must decide normally (a claim here), not
    // fail open.
    const bo = await who('cr-deep-glob', 'bo');
    const repo = makeRepo({
      version: 1,
      sequences: [
        { glob: `${'**/'.repeat(30)}never/*.md`, sequence: 'never' },
        { glob: '**/adr/*.md', sequence: 'adr' },
      ],
    });
    const rel = `${Array.from({ length: 19 }, (_, i) => `d${i}`).join('/')}/adr/0001-deep.md`;
    const r = await claimReconcile(repo, rel, bo);
    expect([r.code, r.stderr]).toEqual([
      0,
      `baton claim-reconcile: claimed 1 of \`adr\` for you (${rel})\n`,
    ]);
    expect(repo.log('pending')).toEqual([]);
    expect((await bo.api('who_claimed', { sequence: 'adr', number: 1 })).body.ref).toBe(rel);
  });

  it('lets BATON_OVERRIDE=1 through, records the override, and claims nothing', async () => {
    const ana = await who('cr-override', 'ana');
    const bo = await who('cr-override', 'bo');
    await ana.api('claim', { sequence: 'adr' });
    const repo = makeRepo();
    const r = await claimReconcile(repo, 'docs/adr/0001-mine-anyway.md', bo, {
      BATON_OVERRIDE: '1',
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/BATON_OVERRIDE is set: allowed what Baton refused/);
    expect(r.stderr).toMatch(`already claimed by ${ana.actor}`);
    expect(repo.log('overrides')).toEqual([
      expect.objectContaining({
        hook: 'claim-reconcile',
        path: 'docs/adr/0001-mine-anyway.md',
        sequence: 'adr',
        number: 1,
        refused: expect.stringContaining(ana.actor),
      }),
    ]);
    expect(await claimsOf('cr-override')).toEqual([[ana.actor, 1, null]]);
  });

  it('passes edits, unnumbered files and files no glob covers without asking Baton', async () => {
    const repo = makeRepo();
    repo.write('docs/adr/0001-existing.md');
    const dead = await deadEndpoint(); // asking would leave a line in pending.log
    for (const rel of [
      'docs/adr/0001-existing.md',
      'docs/adr/README.md',
      'docs/adr/0000-template.md',
      'docs/adr/sub/0009-nested.md',
      'src/file-12.ts',
      '../outside-0001.md',
    ]) {
      const r = await claimReconcile(repo, rel, dead);
      expect([rel, r.code, r.stderr]).toEqual([rel, 0, '']);
    }
    const edit = await run(process.execPath, [hookScript('claim-reconcile')], {
      cwd: repo.dir,
      env: hookEnv(repo, dead),
      stdin: writeCall(repo, 'docs/adr/0001-existing.md', { tool_name: 'MultiEdit' }),
    });
    expect(edit.code).toBe(0);
    expect(repo.log('pending')).toEqual([]);
  });

  it('finds Baton through .mcp.json, expanding ${VAR} as Claude Code does', async () => {
    const bo = await who('cr-mcp-json', 'bo');
    const repo = makeRepo();
    repo.write(
      '.mcp.json',
      JSON.stringify({
        mcpServers: {
          other: { type: 'stdio', command: 'x' },
          baton: {
            type: 'http',
            url: `${baton.mcpUrl}?tools=core`,
            headers: { Authorization: 'Bearer ${KIT_TEST_TOKEN}' },
          },
        },
      }),
    );
    const r = await claimReconcile(repo, 'docs/adr/0001-a.md', undefined, {
      KIT_TEST_TOKEN: bo.token,
    });
    expect(r.code).toBe(0);
    expect((await bo.api('who_claimed', { sequence: 'adr', number: 1 })).body.by).toBe(bo.actor);
  });

  it('sees through a symlinked project directory', async () => {
    const bo = await who('cr-symlink', 'bo');
    const repo = makeRepo();
    const link = path.join(repo.home, 'linked');
    fs.symlinkSync(repo.dir, link);
    const r = await run(process.execPath, [hookScript('claim-reconcile')], {
      cwd: repo.dir,
      env: hookEnv(repo, bo, { CLAUDE_PROJECT_DIR: link }),
      stdin: writeCall(repo, 'docs/adr/0001-a.md'),
    });
    expect(r.code).toBe(0);
    expect((await bo.api('who_claimed', { sequence: 'adr', number: 1 })).body.ref).toBe(
      'docs/adr/0001-a.md',
    );
  });

  it('uses the project directory Claude Code names, wherever the session stands', async () => {
    const bo = await who('cr-subdir', 'bo');
    const repo = makeRepo();
    const sub = path.join(repo.dir, 'docs');
    fs.mkdirSync(sub, { recursive: true });
    const r = await run(process.execPath, [hookScript('claim-reconcile')], {
      cwd: sub,
      env: hookEnv(repo, bo, { CLAUDE_PROJECT_DIR: repo.dir }),
      stdin: writeCall(repo, 'docs/adr/0001-a.md', { cwd: sub }),
    });
    expect(r.code).toBe(0);
    expect((await bo.api('who_claimed', { sequence: 'adr', number: 1 })).body.ref).toBe(
      'docs/adr/0001-a.md',
    );
  });
});
