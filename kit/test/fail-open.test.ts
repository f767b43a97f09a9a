import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimReconcile,
  deadEndpoint,
  fakeServer,
  garbageServer,
  hangingServer,
  hookEnv,
  hookScript,
  makeRepo,
  preCommit,
  run,
  sessionStart,
  type Endpoint,
  type Ran,
  type Repo,
} from './helpers.js';

// Fail open (spec §11): when Baton is unreachable, hangs, or answers nonsense, or the hook itself
// cannot work, every hook allows, warns on stderr and notes it in .baton/pending.log. Only the
// hanging case is timed: finishing within the budget is the contract it tests.

type Hook = 'claim-reconcile' | 'pre-commit' | 'session-start';
const HOOKS: Hook[] = ['claim-reconcile', 'pre-commit', 'session-start'];

/** A repository where each hook has something to ask Baton about. */
function busyRepo(): Repo {
  const repo = makeRepo();
  repo.write('docs/adr/0001-x.md');
  repo.git('add', '-A');
  return repo;
}

function runHook(hook: Hook, repo: Repo, to?: Endpoint, extra?: Record<string, string>) {
  if (hook === 'claim-reconcile') return claimReconcile(repo, 'docs/adr/0002-y.md', to, extra);
  if (hook === 'pre-commit') return preCommit(repo, to, extra);
  return sessionStart(repo, to, extra);
}

function expectAllowed(hook: Hook, r: Ran, repo: Repo, reason: RegExp) {
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(
    new RegExp(
      `^baton ${hook}: Baton was not consulted \\(.*\\); allowed, and noted in \\.baton/pending\\.log\\.\\n$`,
    ),
  );
  const lines = repo.log('pending');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ hook, reason: expect.stringMatching(reason) });
  expect(Date.parse(lines[0]?.at)).not.toBeNaN();
  if (hook === 'session-start') {
    const out = JSON.parse(r.stdout);
    expect(out.hookSpecificOutput.hookEventName).toBe('SessionStart');
    expect(out.hookSpecificOutput.additionalContext).toMatch(/Baton could not be reached/);
  } else {
    expect(r.stdout).toBe('');
  }
}

const servers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
async function serve<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
  const s = await server;
  servers.push(s);
  return s;
}

describe('with Baton out of reach, every hook allows', () => {
  let dead: Endpoint;
  beforeAll(async () => {
    dead = await deadEndpoint();
  });

  it.each(HOOKS)('%s: nothing listening', async (hook) => {
    const repo = busyRepo();
    expectAllowed(hook, await runHook(hook, repo, dead), repo, /unreachable \(ECONNREFUSED\)/);
  });

  it('a server that never answers: each hook gives up within its 1.5 s budget', async () => {
    const hanging = await serve(hangingServer());
    const repos = HOOKS.map(() => busyRepo());
    const results = await Promise.all(
      HOOKS.map((hook, i) => runHook(hook, repos[i] as Repo, hanging)),
    );
    HOOKS.forEach((hook, i) => {
      const r = results[i] as Ran;
      expectAllowed(hook, r, repos[i] as Repo, /no answer within the 1\.5 s budget/);
      // The hook counts its 1.5 s from its own start; this is from spawn to exit, with half a
      // second to spare for a loaded machine, and far below any network timeout.
      expect(r.ms, hook).toBeLessThan(2000);
    });
    expect(hanging.requests).toBeGreaterThanOrEqual(HOOKS.length);
  });

  it.each(HOOKS)('%s: an answer that is not JSON', async (hook) => {
    const garbage = await serve(garbageServer(200, '<html>a captive portal</html>'));
    const repo = busyRepo();
    expectAllowed(hook, await runHook(hook, repo, garbage), repo, /not JSON/);
  });

  it.each(HOOKS)('%s: JSON of the wrong shape', async (hook) => {
    const garbage = await serve(garbageServer(200, '{"sequences": "many", "by": 7, "events": {}}'));
    const repo = busyRepo();
    expectAllowed(hook, await runHook(hook, repo, garbage), repo, /without a usable/);
  });

  it.each(HOOKS)('%s: a server error', async (hook) => {
    const failing = await serve(garbageServer(502, 'Bad Gateway'));
    const repo = busyRepo();
    expectAllowed(hook, await runHook(hook, repo, failing), repo, /HTTP 502/);
  });

  it.each(HOOKS)('%s: a token Baton refuses', async (hook) => {
    const refusing = await serve(
      fakeServer((_req, res) => {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"unauthorized","message":"invalid or revoked token"}}');
      }),
    );
    const repo = busyRepo();
    expectAllowed(hook, await runHook(hook, repo, refusing), repo, /HTTP 401 .*revoked token/);
  });
});

describe('with the hook unable to work, it allows', () => {
  it.each(HOOKS)('%s: no URL or token anywhere', async (hook) => {
    const repo = busyRepo();
    expectAllowed(hook, await runHook(hook, repo), repo, /no Baton URL/);
  });

  it('claim-reconcile: no baton.config.json', async () => {
    const repo = makeRepo(null);
    const r = await claimReconcile(repo, 'docs/adr/0001-x.md', await deadEndpoint());
    expectAllowed('claim-reconcile', r, repo, /no baton\.config\.json/);
  });

  it('claim-reconcile: a config it cannot use, with every problem named', async () => {
    const repo = makeRepo({
      sequences: [
        { glob: '/docs/[adr/*.md', sequence: 'ADR' },
        { glob: 'x/*', seq: 'y' },
      ],
      numbers: true,
    });
    const r = await claimReconcile(repo, 'docs/adr/0001-x.md', await deadEndpoint());
    expectAllowed('claim-reconcile', r, repo, /baton\.config\.json/);
    const reason = repo.log('pending')[0]?.reason as string;
    for (const problem of [
      '"numbers" is not a setting (known: version, sequences)',
      'version: required; write "version": 1',
      'sequences[0].glob: "/docs/[adr/*.md" must be relative to the config file',
      'sequences[0].sequence: required, 1–64 characters of a-z',
      'sequences[1]: "seq" is not a setting (known: glob, sequence)',
      'sequences[1].sequence: required',
    ]) {
      expect(reason).toContain(problem);
    }
  });

  it('claim-reconcile: input that is not the JSON Claude Code sends', async () => {
    const repo = makeRepo();
    const r = await run(process.execPath, [hookScript('claim-reconcile')], {
      cwd: repo.dir,
      env: hookEnv(repo, await deadEndpoint()),
      stdin: '{"tool_name": "Write", ',
    });
    expectAllowed('claim-reconcile', r, repo, /internal fault in the hook/);
  });

  it('pre-commit: outside a git repository', async () => {
    const repo = makeRepo();
    const r = await run(process.execPath, [hookScript('pre-commit')], {
      cwd: repo.home,
      env: hookEnv(repo, await deadEndpoint()),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Baton was not consulted \(internal fault in the hook: .*\); allowed/);
  });

  it('pre-commit: the lease guard still runs without baton.config.json', async () => {
    const repo = makeRepo(null);
    repo.write('docs/adr/0001-x.md');
    repo.git('add', '-A');
    const r = await preCommit(repo, await deadEndpoint());
    expect(r.code).toBe(0);
    expect(repo.log('pending').map((l) => l.reason)).toEqual([
      'no baton.config.json in this repository',
      'unreachable (ECONNREFUSED)',
    ]);
  });
});
