import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRE_COMMIT } from '../../src/cli/kit-files.js';
import {
  claimReconcile,
  HOOKS as HOOKS_DIR,
  commit,
  deadEndpoint,
  fakeServer,
  makeRepo,
  preCommit,
  sessionStart,
  type Endpoint,
  type Repo,
} from './helpers.js';

// The kit runs in repositories it must not trust. A committed symbolic link where it logs
// (`.baton`, `.baton/pending.log`) must not make it write anywhere else, text from the
// repository must not run when a log line is read by a shell, and text from a server must not
// reach the user's terminal as escape sequences.

type Hook = 'claim-reconcile' | 'pre-commit' | 'session-start';
const HOOKS: Hook[] = ['claim-reconcile', 'pre-commit', 'session-start'];

function runHook(hook: Hook, repo: Repo, to?: Endpoint, extra?: Record<string, string>) {
  if (hook === 'claim-reconcile') return claimReconcile(repo, 'docs/adr/0002-y.md', to, extra);
  if (hook === 'pre-commit') return preCommit(repo, to, extra);
  return sessionStart(repo, to, extra);
}

/** A repository with something for each hook to check, and a place outside it. */
function repoAndOutside(): { repo: Repo; outside: string } {
  const repo = makeRepo();
  repo.write('docs/adr/0001-x.md');
  repo.git('add', '-A');
  const outside = path.join(repo.home, 'outside');
  fs.mkdirSync(outside);
  return { repo, outside };
}

/** Every file under `dir` with its content. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }).map(String)) {
    const file = path.join(dir, name);
    if (fs.lstatSync(file).isFile()) out[name] = fs.readFileSync(file, 'utf8');
  }
  return out;
}

/** Anything a terminal would act on: C0 (but newline), DEL, C1. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('a symbolic link where the hooks log is never followed', () => {
  let dead: Endpoint;
  beforeAll(async () => {
    dead = await deadEndpoint();
  });

  it.each(HOOKS)(
    '%s: a linked .baton/pending.log is refused and its target untouched',
    async (hook) => {
      const { repo, outside } = repoAndOutside();
      const target = path.join(outside, 'bashrc');
      fs.writeFileSync(target, 'export PATH=/usr/bin\n');
      fs.mkdirSync(path.join(repo.dir, '.baton'));
      fs.symlinkSync(target, path.join(repo.dir, '.baton', 'pending.log'));

      const r = await runHook(hook, repo, dead);
      // Failing open as ever: the work is allowed, and the user is told why nothing was logged.
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        `baton ${hook}: not logged: .baton/pending.log is a symbolic link; the Baton kit does not write through links.\n`,
      );
      expect(r.stderr).toMatch(
        /Baton was not consulted \(unreachable \(ECONNREFUSED\).*\); allowed\.\n$/,
      );
      expect(contents(outside)).toEqual({ bashrc: 'export PATH=/usr/bin\n' });
      expect(fs.lstatSync(path.join(repo.dir, '.baton', 'pending.log')).isSymbolicLink()).toBe(
        true,
      );
    },
  );

  it('a dangling link is not created through either', async () => {
    const { repo, outside } = repoAndOutside();
    fs.mkdirSync(path.join(repo.dir, '.baton'));
    fs.symlinkSync(path.join(outside, 'new-file'), path.join(repo.dir, '.baton', 'pending.log'));
    const r = await claimReconcile(repo, 'docs/adr/0002-y.md', dead);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch('.baton/pending.log is a symbolic link');
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it.each(HOOKS)(
    '%s: a linked .baton directory is refused and nothing lands behind it',
    async (hook) => {
      const { repo, outside } = repoAndOutside();
      fs.symlinkSync(outside, path.join(repo.dir, '.baton'));
      const r = await runHook(hook, repo, dead);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        `baton ${hook}: not logged: .baton is a symbolic link; the Baton kit does not write through links.\n`,
      );
      expect(fs.readdirSync(outside)).toEqual([]);
    },
  );

  it('an ordinary .baton still gets its log, so the refusals above are about the links', async () => {
    const { repo } = repoAndOutside();
    const r = await claimReconcile(repo, 'docs/adr/0002-y.md', dead);
    expect(r.code).toBe(0);
    expect(repo.log('pending')).toHaveLength(1);
  });
});

describe('text from the repository never runs when a log line is read by a shell', () => {
  it('a config glob with $(…) and backquotes is logged as JSON a shell cannot expand', async () => {
    const { repo, outside } = repoAndOutside();
    const glob = '/$(touch ran)/`touch ran-too`/*.md';
    repo.write(
      'baton.config.json',
      JSON.stringify({ version: 1, sequences: [{ glob, sequence: 'adr' }] }),
    );
    const r = await claimReconcile(repo, 'docs/adr/0002-y.md', await deadEndpoint());
    expect(r.code).toBe(0);
    const log = repo.read('.baton/pending.log');
    expect(log).not.toMatch(/[$`]/);
    // The same JSON all the same: the reason names the glob as it was written.
    expect(repo.log('pending')[0]?.reason).toContain(`"${glob}" must be relative`);
    // Sourced by a shell, as a log appended to a shell's startup file would be, nothing runs.
    execFileSync(
      'sh',
      ['-c', '. "$1" 2>/dev/null; true', 'sh', path.join(repo.dir, '.baton/pending.log')],
      {
        cwd: outside,
      },
    );
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});

describe('the git hook installed by baton kit install', () => {
  /** A repository with the installed shell hook but without the script it runs. */
  function withShellHook(): { repo: Repo; outside: string } {
    const made = repoAndOutside();
    fs.writeFileSync(path.join(made.repo.dir, '.git/hooks/pre-commit'), PRE_COMMIT, {
      mode: 0o755,
    });
    return made;
  }

  it('notes a missing hook script in .baton/pending.log and allows the commit', async () => {
    const { repo } = withShellHook();
    const r = await commit(repo, 'x');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      'pre-commit.mjs or node is missing; Baton was not consulted, commit allowed',
    );
    expect(repo.log('pending')).toEqual([
      expect.objectContaining({ hook: 'pre-commit', reason: 'the hook script or node is missing' }),
    ]);
  });

  it('does not append through a linked .baton/pending.log', async () => {
    const { repo, outside } = withShellHook();
    const target = path.join(outside, 'profile');
    fs.writeFileSync(target, 'umask 022\n');
    fs.mkdirSync(path.join(repo.dir, '.baton'));
    fs.symlinkSync(target, path.join(repo.dir, '.baton', 'pending.log'));
    const r = await commit(repo, 'x');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      '.baton/pending.log is a symbolic link, which the Baton kit does not follow; not logged',
    );
    expect(contents(outside)).toEqual({ profile: 'umask 022\n' });
  });

  it('neither runs nor logs through a linked .baton', async () => {
    const { repo, outside } = withShellHook();
    // What the link leads to even holds a script: it is not run.
    fs.mkdirSync(path.join(outside, 'hooks'));
    fs.writeFileSync(
      path.join(outside, 'hooks', 'pre-commit.mjs'),
      `require('node:fs').writeFileSync(${JSON.stringify(path.join(outside, 'ran'))}, 'x');\n`,
    );
    fs.symlinkSync(outside, path.join(repo.dir, '.baton'));
    const before = contents(outside);
    const r = await commit(repo, 'x');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch('.baton, .baton/hooks or the hook script is a symbolic link');
    expect(contents(outside)).toEqual(before);
  });
});

// A server (an older Baton, a proxy, a hostile endpoint) can send any text. Escape sequences in
// a ref or a holder's name would act on the terminal showing the hook's output; newlines would
// let them forge lines.
const ESC = '\u001b';
const HOSTILE = {
  actor: `ana${ESC}[2J${ESC}[H`,
  ref: `docs/adr/0007-x.md${ESC}]0;pwned${ESC}\\\n  forged line\u009b31m\u0007`,
  note: `n${ESC}[31mred${ESC}[0m\r`,
};

describe('server text is printed without control characters', () => {
  let server: Awaited<ReturnType<typeof fakeServer>>;
  beforeAll(async () => {
    server = await fakeServer((req, res) => {
      const tool = req.url?.split('/').pop();
      const answers: Record<string, unknown> = {
        whoami: { actor: `me${ESC}[1m`, project: `p${ESC}[5m`, lane: null },
        who_claimed: { sequence: 'adr', number: 7, by: HOSTILE.actor, ref: HOSTILE.ref },
        list_sequences: { sequences: [{ sequence: 'adr', next_number: 8 }], has_more: false },
        claim: { sequence: 'adr', number: 8 },
        check_paths: {
          paths: [
            {
              path: `docs/adr/0001-x.md${ESC}[8m`,
              leases: [
                {
                  mode: 'exclusive',
                  actor: HOSTILE.actor,
                  surface: `docs/**${ESC}]8;;http://example.test${ESC}\\`,
                  expires_at: `soon${ESC}[0m\nforged`,
                },
              ],
            },
          ],
        },
        whats_new: {
          cursor: 'default',
          has_more: false,
          digest: {
            unacked_posts: {
              count: 1,
              latest: [
                { post_id: 1, from: HOSTILE.actor, subject: HOSTILE.note, ref: HOSTILE.ref },
              ],
            },
          },
          events: [
            {
              seq: 3,
              type: 'claim',
              actor: HOSTILE.actor,
              at: '2030-01-01T00:00:00Z',
              sequence: 'adr',
              ref: HOSTILE.ref,
              data: { number: 7, note: HOSTILE.note },
            },
          ],
        },
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answers[tool ?? ''] ?? {}));
    });
  });
  afterAll(() => server.close());

  it('claim-reconcile: a refusal naming a holder and a ref full of escapes', async () => {
    const repo = makeRepo();
    const r = await claimReconcile(repo, 'docs/adr/0007-y.md', server);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      '7 of `adr` is already claimed by ana (for docs/adr/0007-x.md   forged line 31m )',
    );
    expect(r.stderr).not.toMatch(CONTROL);
    expect(r.stderr).not.toMatch(/^ *forged/m);
  });

  it('pre-commit: a lease holder, surface and expiry full of escapes, refused and overridden', async () => {
    const { repo, outside } = repoAndOutside();
    const refused = await preCommit(repo, server);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch('held exclusively by ana (lease `docs/**`) until soon forged');
    expect(refused.stderr).not.toMatch(CONTROL);
    // Overridden with .baton/overrides.log a link: allowed, told, and nothing written through it.
    const target = path.join(outside, 'overrides');
    fs.writeFileSync(target, 'kept\n');
    fs.mkdirSync(path.join(repo.dir, '.baton'));
    fs.symlinkSync(target, path.join(repo.dir, '.baton', 'overrides.log'));
    const forced = await preCommit(repo, server, { BATON_OVERRIDE: '1' });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch('not logged: .baton/overrides.log is a symbolic link');
    expect(forced.stderr).toMatch('BATON_OVERRIDE is set: allowed what Baton refused:\n');
    expect(forced.stderr).not.toMatch(CONTROL);
    expect(fs.readFileSync(target, 'utf8')).toBe('kept\n');
  });

  it('session-start: the digest given to the model carries none either, nor forged lines', async () => {
    const r = await sessionStart(makeRepo(), server);
    expect(r.code, r.stderr).toBe(0);
    const context = JSON.parse(r.stdout).hookSpecificOutput.additionalContext as string;
    expect(context).not.toMatch(CONTROL);
    expect(context).toMatch('you are me in project "p"');
    expect(context).toMatch('post 1 from ana: "nred " (ref docs/adr/0007-x.md   forged line 31m )');
    expect(context).toMatch(
      '- 3 claim by ana · 2030-01-01 00:00 · sequence adr · ref docs/adr/0007-x.md',
    );
    expect(context).not.toMatch(/^ *forged/m);
  });
});

describe('the filter itself', () => {
  it('removes sequences whole, keeps the text after an unfinished one, and keeps newlines only where asked', async () => {
    const text = await import(path.join(HOOKS_DIR, 'lib', 'text.mjs'));
    const input = `a${ESC}[1;31mb${ESC}]0;title\u0007c${ESC}]8;;x${ESC}\\d ${ESC}]open rest\n\tnext\u202e`;
    expect(text.printable(input)).toBe('abcd open rest\n next ');
    expect(text.oneLine(input)).toBe('abcd open rest  next ');
  });
});
