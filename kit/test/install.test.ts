import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTestBaton } from '../../test/helpers/baton.js';
import { callApi } from '../../test/helpers/agents.js';
import { runCli } from '../../test/helpers/process.js';
import { KitFileError, mergeSettings } from '../../src/cli/kit-files.js';
import { commit, gitEnv, HOOKS, makeRepo, type Repo } from './helpers.js';

// `baton kit install`, run as the real command (the built dist/) against throwaway repositories
// that already have hooks, settings and servers of their own.

const baton = useTestBaton();

const install = (repo: Repo, ...flags: string[]) =>
  runCli(['kit', 'install', '--dir', repo.dir, ...flags], gitEnv(repo.home));

/** Every file (and link) of the work tree and of .git/hooks, with its mode: what install may touch. */
function snapshot(repo: Repo): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(repo.dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (child !== '.git' || rel === '') walk(child === '.git' ? '.git/hooks' : child);
      } else if (e.isSymbolicLink()) {
        out[child] = `link to ${fs.readlinkSync(path.join(repo.dir, child))}`;
      } else {
        const file = path.join(repo.dir, child);
        out[child] =
          `${(fs.statSync(file).mode & 0o777).toString(8)} ${fs.readFileSync(file, 'utf8')}`;
      }
    }
  };
  walk('');
  return out;
}

const LOCAL_HOOK = `#!/bin/sh
echo ran >> "$(git rev-parse --show-toplevel)/.local-hook-ran"
if [ -f REFUSE ]; then echo "the local hook refuses" >&2; exit 3; fi
`;

const USER_SETTINGS = {
  permissions: { allow: ['Bash(npm test)'] },
  env: { FOO: '1' },
  hooks: {
    PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'echo checked' }] }],
    Stop: [{ hooks: [{ type: 'command', command: 'echo bye' }] }],
  },
};

function ours(groups: any[], script: string) {
  return groups.filter((g) =>
    g.hooks.some((h: any) => h.command.includes(`.baton/hooks/${script}`)),
  );
}

describe('baton kit install', () => {
  it('run twice leaves one copy of everything, keeps existing settings, and chains the existing pre-commit hook', async () => {
    const ana = await baton.seed({ projectSlug: 'install', label: 'ana' });
    const bo = await baton.seed({ projectSlug: 'install', label: 'bo' });
    const repo = makeRepo(null);
    fs.writeFileSync(path.join(repo.dir, '.git/hooks/pre-commit'), LOCAL_HOOK, { mode: 0o755 });
    repo.write('.claude/settings.json', JSON.stringify(USER_SETTINGS, null, 4));
    repo.write(
      '.mcp.json',
      JSON.stringify({ mcpServers: { other: { type: 'stdio', command: 'x' } } }),
    );

    const first = await install(repo, '--url', baton.mcpUrl, '--token', bo.token);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      'kept the existing pre-commit hook as pre-commit.local; it runs first',
    );
    expect(first.stdout).toMatch(`Baton answers: you are ${bo.actor} in project "install"`);
    expect(first.stdout).toMatch('Claim before naming');
    const after = snapshot(repo);
    const second = await install(repo, '--url', baton.mcpUrl, '--token', bo.token);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch('everything was already in place');
    expect(snapshot(repo)).toEqual(after);
    for (const out of [first.stdout, first.stderr, second.stdout, second.stderr]) {
      expect(out).not.toContain(bo.token);
    }

    // The hook scripts, once each, as shipped.
    const shipped = fs
      .readdirSync(HOOKS, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.mjs'))
      .sort();
    const installed = fs
      .readdirSync(path.join(repo.dir, '.baton/hooks'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.mjs'))
      .sort();
    expect(installed).toEqual(shipped);
    // Claude Code settings: the user's kept, the kit's hooks present once.
    const settings = JSON.parse(repo.read('.claude/settings.json'));
    expect(settings.permissions).toEqual(USER_SETTINGS.permissions);
    expect(settings.env).toEqual(USER_SETTINGS.env);
    expect(settings.hooks.Stop).toEqual(USER_SETTINGS.hooks.Stop);
    expect(settings.hooks.PreToolUse[0]).toEqual(USER_SETTINGS.hooks.PreToolUse[0]);
    expect(ours(settings.hooks.PreToolUse, 'claim-reconcile.mjs')).toEqual([
      {
        matcher: 'Write|Edit|MultiEdit',
        hooks: [
          {
            type: 'command',
            command: 'node "$CLAUDE_PROJECT_DIR/.baton/hooks/claim-reconcile.mjs"',
            timeout: 10,
          },
        ],
      },
    ]);
    expect(ours(settings.hooks.SessionStart, 'session-start.mjs')).toHaveLength(1);
    // Git hooks: Baton's, and the previous one kept beside it.
    const hooks = fs
      .readdirSync(path.join(repo.dir, '.git/hooks'))
      .filter((f) => f.startsWith('pre-commit') && !f.endsWith('.sample'));
    expect(hooks.sort()).toEqual(['pre-commit', 'pre-commit.local']);
    expect(repo.read('.git/hooks/pre-commit.local')).toBe(LOCAL_HOOK);
    // .mcp.json: the other server kept, baton added; the default config; ignores once.
    const mcp = JSON.parse(repo.read('.mcp.json'));
    expect(mcp.mcpServers.other).toEqual({ type: 'stdio', command: 'x' });
    expect(mcp.mcpServers.baton).toEqual({
      type: 'http',
      url: baton.mcpUrl,
      headers: { Authorization: `Bearer ${bo.token}` },
    });
    expect(JSON.parse(repo.read('baton.config.json'))).toEqual({
      version: 1,
      sequences: [{ glob: 'docs/adr/*.md', sequence: 'adr' }],
    });
    const ignores = repo.read('.gitignore').split('\n');
    expect(ignores.filter((l) => l === '.baton/*.log')).toHaveLength(1);
    expect(ignores.filter((l) => l === '.mcp.json')).toHaveLength(1);

    // A commit runs the old hook first, then Baton's, which finds Baton through .mcp.json.
    const lease = await callApi(baton, ana.token, 'lease', { surface: 'src/db/**' });
    repo.write('src/db/pool.ts');
    repo.git('add', 'src/db/pool.ts');
    const refused = await commit(repo, 'pool');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      `held exclusively by ${ana.actor} (lease \`src/db/**\`) until ${lease.body.expires_at}`,
    );
    expect(repo.read('.local-hook-ran')).toBe('ran\n');
    // The old hook's refusal stands, and Baton is not asked.
    repo.write('REFUSE');
    const local = await commit(repo, 'pool');
    expect(local.code).not.toBe(0);
    expect(local.stderr).toBe('the local hook refuses\n');
    fs.rmSync(path.join(repo.dir, 'REFUSE'));
    await callApi(baton, ana.token, 'release', { surface: 'src/db/**' });
    const passed = await commit(repo, 'pool');
    expect([passed.code, passed.stderr]).toEqual([0, '']);
    expect(repo.read('.local-hook-ran')).toBe('ran\nran\nran\n');
  });

  it('without a token writes a reference to BATON_TOKEN, not a secret, and keeps .mcp.json committable', async () => {
    const repo = makeRepo(null);
    const r = await install(repo);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(repo.read('.mcp.json')).mcpServers.baton).toEqual({
      type: 'http',
      url: 'http://127.0.0.1:8787/mcp',
      headers: { Authorization: 'Bearer ${BATON_TOKEN}' },
    });
    expect(r.stdout).toMatch('the token comes from the environment at run time');
    expect(repo.read('.gitignore').split('\n')).not.toContain('.mcp.json');
    // A later run with a token replaces the reference and keeps everything else.
    const bo = await baton.seed({ projectSlug: 'install-later', label: 'bo' });
    const again = await install(repo, '--token', bo.token);
    expect(again.stdout).toMatch('updated .mcp.json');
    expect(JSON.parse(repo.read('.mcp.json')).mcpServers.baton.headers.Authorization).toBe(
      `Bearer ${bo.token}`,
    );
  });

  it('takes URL and token from BATON_URL and BATON_TOKEN when no flag gives them', async () => {
    const bo = await baton.seed({ projectSlug: 'install-env', label: 'bo' });
    const repo = makeRepo(null);
    const r = await runCli(['kit', 'install', '--dir', repo.dir], {
      ...gitEnv(repo.home),
      BATON_URL: baton.mcpUrl,
      BATON_TOKEN: bo.token,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(`Baton answers: you are ${bo.actor}`);
    expect(r.stdout).not.toContain(bo.token);
    expect(JSON.parse(repo.read('.mcp.json')).mcpServers.baton).toMatchObject({
      url: baton.mcpUrl,
      headers: { Authorization: `Bearer ${bo.token}` },
    });
  });

  it('keeps an existing baton.config.json and says what is wrong with it', async () => {
    const repo = makeRepo({ version: 2, sequences: [] });
    const before = repo.read('baton.config.json');
    const r = await install(repo);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      'warning: baton.config.json: version: this kit reads version 1, not 2',
    );
    expect(repo.read('baton.config.json')).toBe(before);
  });

  it('installs at the repository root from a subdirectory, and into core.hooksPath', async () => {
    const repo = makeRepo(null);
    repo.git('config', 'core.hooksPath', '.githooks');
    fs.mkdirSync(path.join(repo.dir, 'src/deep'), { recursive: true });
    const r = await runCli(
      ['kit', 'install', '--dir', path.join(repo.dir, 'src/deep')],
      gitEnv(repo.home),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(repo.exists('.baton/hooks/pre-commit.mjs')).toBe(true);
    expect(repo.exists('.githooks/pre-commit')).toBe(true);
    expect(repo.exists('.git/hooks/pre-commit')).toBe(false);
    expect(repo.exists('src/deep/.baton')).toBe(false);
  });

  it('outside git installs the Claude Code hooks and says the git hook was skipped', async () => {
    const repo = makeRepo(null);
    fs.rmSync(path.join(repo.dir, '.git'), { recursive: true });
    const r = await install(repo);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch('skipped the git pre-commit hook: not a git repository');
    expect(repo.exists('.claude/settings.json')).toBe(true);
  });

  it('refuses, changing nothing, what it cannot merge', async () => {
    const repo = makeRepo(null);
    fs.writeFileSync(path.join(repo.dir, '.git/hooks/pre-commit'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(repo.dir, '.git/hooks/pre-commit.local'), '#!/bin/sh\n', {
      mode: 0o755,
    });
    const before = snapshot(repo);
    const r = await install(repo);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^baton kit: .*pre-commit is not Baton's and pre-commit.local exists beside it/,
    );
    expect(snapshot(repo)).toEqual(before);

    const broken = makeRepo(null);
    broken.write('.claude/settings.json', '{ "hooks": ');
    const b = await install(broken);
    expect(b.code).toBe(1);
    expect(b.stderr).toBe(
      'baton kit: .claude/settings.json is not valid JSON; fix it and run again\n',
    );
    expect(broken.exists('.baton')).toBe(false);
  });

  it('refuses bad input with one line and never echoes a token', async () => {
    const repo = makeRepo(null);
    const secretish = 'baton_short';
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [['kit'], /^baton kit: usage: baton kit install/],
      [['kit', 'frobnicate'], /^baton kit: unknown subcommand "frobnicate"; try baton kit install/],
      [['kit', 'install', '--dir', path.join(repo.dir, 'nope')], /--dir: .* is not a directory/],
      [
        ['kit', 'install', '--dir', repo.dir, '--url', 'ftp://x/mcp'],
        /--url is the MCP URL of Baton/,
      ],
      [['kit', 'install', '--dir', repo.dir, '--token', secretish], /--token is not a Baton token/],
      [['kit', 'install', '--bogus'], /Unknown option '--bogus'/],
      [
        ['kit', 'install', '--dir', repo.dir],
        /BATON_TOKEN is not a Baton token/,
        { BATON_TOKEN: secretish },
      ],
    ];
    for (const [args, message, env] of cases) {
      const r = await runCli(args, { ...gitEnv(repo.home), ...env });
      expect([args, r.code]).toEqual([args, 2]);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain(secretish);
    }
  });
});

describe('baton kit install never writes through a symbolic link', () => {
  /** A repository, and a directory beside it that the links below lead to. */
  function linked(): { repo: Repo; outside: string; files: () => string[] } {
    const repo = makeRepo(null);
    const outside = path.join(repo.home, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'kept'), 'kept\n');
    const files = () =>
      fs
        .readdirSync(outside, { recursive: true })
        .map(String)
        .map((f) => `${f}: ${fs.readFileSync(path.join(outside, f), 'utf8')}`)
        .sort();
    return { repo, outside, files };
  }

  it.each([
    ['.claude', 'a directory', (o: string) => o],
    ['.baton', 'a directory', (o: string) => o],
    ['.baton/hooks', 'a directory', (o: string) => o],
    ['.claude/settings.json', 'a file', (o: string) => path.join(o, 'kept')],
    ['.mcp.json', 'a missing file', (o: string) => path.join(o, 'new.json')],
    ['.gitignore', 'a file', (o: string) => path.join(o, 'kept')],
  ])('refuses %s linked to %s outside, writing nothing anywhere', async (rel, _what, to) => {
    const { repo, outside, files } = linked();
    fs.mkdirSync(path.dirname(path.join(repo.dir, rel)), { recursive: true });
    fs.symlinkSync(to(outside), path.join(repo.dir, rel));
    const before = snapshot(repo);
    const r = await install(repo);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `baton kit: ${rel} is a symbolic link; the Baton kit does not write through links; make it a real file or directory and run again\n`,
    );
    expect(files()).toEqual(['kept: kept\n']);
    expect(snapshot(repo)).toEqual(before);
  });

  it('keeps a linked pre-commit hook as the chained one instead of writing through it', async () => {
    const { repo, outside, files } = linked();
    const target = path.join(outside, 'missing-hook');
    fs.symlinkSync(target, path.join(repo.dir, '.git/hooks/pre-commit'));
    const r = await install(repo);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch('kept the existing pre-commit hook as pre-commit.local');
    expect(fs.readlinkSync(path.join(repo.dir, '.git/hooks/pre-commit.local'))).toBe(target);
    expect(repo.read('.git/hooks/pre-commit')).toMatch('# baton-kit pre-commit');
    expect(files()).toEqual(['kept: kept\n']);
  });

  it('refuses a hooks directory that is a link, and skips one outside the repository', async () => {
    const { repo, outside, files } = linked();
    repo.git('config', 'core.hooksPath', '.githooks');
    fs.symlinkSync(outside, path.join(repo.dir, '.githooks'));
    const r = await install(repo);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch('baton kit: .githooks is a symbolic link');
    expect(files()).toEqual(['kept: kept\n']);

    const shared = linked();
    shared.repo.git('config', 'core.hooksPath', shared.outside);
    const s = await install(shared.repo);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(
      `skipped the git pre-commit hook: git runs hooks from ${shared.outside}, outside this repository`,
    );
    expect(shared.files()).toEqual(['kept: kept\n']);
    expect(shared.repo.exists('.baton/hooks/pre-commit.mjs')).toBe(true);
  });
});

describe('merging .claude/settings.json', () => {
  it('moves the kit hook out of a group it shares with a user hook, keeping the user hook', () => {
    const shared = {
      hooks: {
        PreToolUse: [
          {
            matcher: 'Write|Edit|MultiEdit',
            hooks: [
              { type: 'command', command: 'prettier --check' },
              { type: 'command', command: 'node .baton/hooks/claim-reconcile.mjs' },
            ],
          },
        ],
      },
    };
    const merged = mergeSettings(shared) as any;
    expect(merged.hooks.PreToolUse[0]).toEqual({
      matcher: 'Write|Edit|MultiEdit',
      hooks: [{ type: 'command', command: 'prettier --check' }],
    });
    expect(ours(merged.hooks.PreToolUse, 'claim-reconcile.mjs')).toHaveLength(1);
    expect(mergeSettings(merged)).toEqual(merged);
  });

  it('refuses settings of the wrong shape instead of dropping them', () => {
    expect(() => mergeSettings([])).toThrow(KitFileError);
    expect(() => mergeSettings({ hooks: [] })).toThrow(/"hooks" .* is not an object/);
    expect(() => mergeSettings({ hooks: { PreToolUse: {} } })).toThrow(/is not a list/);
  });
});
