import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse, UsageError, type Verb } from './common.js';
import {
  appendIgnores,
  currentAuthorization,
  currentUrl,
  DEFAULT_CONFIG,
  HOOKS_DIR,
  KitFileError,
  LOCAL_HOOK,
  mergeMcp,
  mergeSettings,
  PRE_COMMIT,
  PRE_COMMIT_MARKER,
  sameJson,
} from './kit-files.js';
import { help } from './serve.js';

// `baton kit install`: puts the adherence kit (kit/, spec §11) into a repository. Every file is
// merged with or compared to what is there before it is written, so a second run changes nothing.
// The token goes into .mcp.json and nowhere else: it is never printed.

/** kit/ of this Baton: two levels up from src/cli/ and from dist/cli/ alike. */
const KIT = fileURLToPath(new URL('../../kit/', import.meta.url));
const DEFAULT_URL = 'http://127.0.0.1:8787/mcp';
const TOKEN = /^baton_[A-Za-z0-9_-]{43}$/;
const TOKEN_PLACEHOLDER = '${BATON_TOKEN}';

type Change = 'wrote' | 'updated' | undefined;

function git(dir: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function readJson(file: string, shown: string): unknown {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    throw new KitFileError(`${shown} is not valid JSON; fix it and run again`);
  }
}

/** Writes `content` unless the file already holds it. */
function put(file: string, content: string, mode?: number): Change {
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (before !== content) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  if (mode !== undefined && (fs.statSync(file).mode & 0o777) !== mode) fs.chmodSync(file, mode);
  if (before === content) return undefined;
  return before === undefined ? 'wrote' : 'updated';
}

const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

/** The hook scripts, copied so they run with nothing but Node in the repository. */
function copyHooks(root: string, report: string[]): void {
  const source = path.join(KIT, 'hooks');
  if (!fs.existsSync(source)) throw new Error(`the kit's hook scripts are missing (${source})`);
  let changed = 0;
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(source, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      else if (e.name.endsWith('.mjs')) {
        const content = fs.readFileSync(path.join(source, child), 'utf8');
        if (put(path.join(root, HOOKS_DIR, child), content, rel ? 0o644 : 0o755)) changed++;
      }
    }
  };
  walk('');
  if (changed > 0) report.push(`copied ${changed} hook script(s) into ${HOOKS_DIR}/`);
}

interface GitHook {
  hook: string;
  local: string;
  shown: string;
  /** A pre-commit hook that is not Baton's is there: it becomes pre-commit.local. */
  chain: boolean;
}

/** Where the git hook goes (core.hooksPath and linked worktrees included), and what is there. */
function locateGitHook(root: string): GitHook | undefined {
  const hooksPath = git(root, ['rev-parse', '--git-path', 'hooks']);
  if (hooksPath === undefined) return undefined;
  const dir = path.resolve(root, hooksPath);
  const hook = path.join(dir, 'pre-commit');
  const local = path.join(dir, LOCAL_HOOK);
  const shown = path.relative(root, hook) || hook;
  const chain = fs.existsSync(hook) && !fs.readFileSync(hook, 'utf8').includes(PRE_COMMIT_MARKER);
  if (chain && fs.existsSync(local)) {
    throw new KitFileError(
      `${shown} is not Baton's and ${LOCAL_HOOK} exists beside it; merge them into ${LOCAL_HOOK} and run again`,
    );
  }
  return { hook, local, shown, chain };
}

/** The git hook, chaining whatever pre-commit hook was there before. */
function installGitHook(root: string, report: string[]): void {
  const found = locateGitHook(root);
  if (found === undefined) {
    report.push('skipped the git pre-commit hook: not a git repository');
    return;
  }
  const { hook, local, shown, chain } = found;
  if (chain) {
    fs.renameSync(hook, local);
    report.push(`kept the existing pre-commit hook as ${LOCAL_HOOK}; it runs first`);
  }
  const change = put(hook, PRE_COMMIT, 0o755);
  if (change) report.push(`${change} ${shown}`);
}

function installSettings(root: string, report: string[]): void {
  const file = path.join(root, '.claude', 'settings.json');
  const current = readJson(file, '.claude/settings.json');
  const merged = mergeSettings(current);
  if (current !== undefined && sameJson(current, merged)) return;
  put(file, json(merged));
  report.push(
    `${current === undefined ? 'wrote' : 'merged the kit hooks into'} .claude/settings.json`,
  );
}

interface Connection {
  url: string;
  authorization: string;
}

/** URL and token as given (flags, then the environment), else what .mcp.json already says. */
function installMcp(root: string, flags: Flags, report: string[]) {
  const file = path.join(root, '.mcp.json');
  const current = readJson(file, '.mcp.json');
  const url = flags.url ?? currentUrl(current) ?? DEFAULT_URL;
  const token = flags.token;
  const authorization =
    token !== undefined
      ? `Bearer ${token}`
      : (currentAuthorization(current) ?? `Bearer ${TOKEN_PLACEHOLDER}`);
  const merged = mergeMcp(current, url, authorization);
  if (current === undefined || !sameJson(current, merged)) {
    put(file, json(merged));
    report.push(
      `${current === undefined ? 'wrote' : 'updated'} .mcp.json (server "baton" at ${url})`,
    );
  }
  return { url, authorization } satisfies Connection;
}

function installConfig(root: string, report: string[]): Promise<void> | void {
  const file = path.join(root, 'baton.config.json');
  if (!fs.existsSync(file)) {
    put(file, json(DEFAULT_CONFIG));
    report.push('wrote baton.config.json (docs/adr/*.md numbered by sequence "adr")');
    return;
  }
  // An existing config is the user's: checked with the hooks' own reader, never rewritten.
  return import(pathToFileURL(path.join(KIT, 'hooks', 'lib', 'config.mjs')).href).then(
    (config: { loadConfig(root: string): unknown }) => {
      try {
        config.loadConfig(root);
      } catch (err) {
        report.push(`warning: ${(err as Error).message}`);
      }
    },
  );
}

/** Ignore the kit's logs, and .mcp.json when it now holds a token git would otherwise take. */
function installIgnores(root: string, conn: Connection, report: string[]): void {
  if (git(root, ['rev-parse', '--is-inside-work-tree']) !== 'true') return;
  const ignored = (rel: string) => git(root, ['check-ignore', '-q', rel]) !== undefined;
  const lines: string[] = [];
  if (!ignored('.baton/pending.log')) lines.push('.baton/*.log');
  if (!conn.authorization.includes(TOKEN_PLACEHOLDER)) {
    if (git(root, ['ls-files', '--error-unmatch', '.mcp.json']) !== undefined) {
      report.push(
        'warning: .mcp.json is tracked by git and now holds your token; do not commit it',
      );
    } else if (!ignored('.mcp.json')) {
      lines.push('.mcp.json');
    }
  }
  const file = path.join(root, '.gitignore');
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const next = appendIgnores(current, lines);
  if (next !== current) {
    put(file, next);
    report.push(`added ${lines.join(', ')} to .gitignore`);
  }
}

/** whoami within a few seconds: a check for the person installing, never a reason to fail. */
async function checkConnection(conn: Connection): Promise<string> {
  if (conn.authorization.includes('${')) {
    return 'Baton not checked: the token comes from the environment at run time (BATON_TOKEN)';
  }
  try {
    const base = conn.url
      .replace(/[?#].*$/, '')
      .replace(/\/+$/, '')
      .replace(/\/mcp$/, '');
    const res = await fetch(`${base}/api/v1/tools/whoami`, {
      method: 'POST',
      headers: { authorization: conn.authorization, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(3000),
    });
    const body = (await res.json().catch(() => ({}))) as {
      actor?: string;
      project?: string;
      error?: { message?: string };
    };
    if (res.ok && body.actor)
      return `Baton answers: you are ${body.actor} in project "${body.project}"`;
    const said = body.error?.message ? `: ${body.error.message}` : '';
    return `warning: Baton did not accept the token (HTTP ${res.status}${said}); the hooks let work through until it does`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    return `warning: Baton did not answer at ${conn.url} (${cause}); the hooks let work through until it does`;
  }
}

interface Flags {
  url?: string;
  token?: string;
  /** Where url and token came from, for messages: a flag or an environment variable. */
  urlFrom?: string;
  tokenFrom?: string;
}

export async function installKit(
  dir: string,
  flags: Flags,
): Promise<{ root: string; report: string[]; check: string }> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UsageError(`--dir: ${dir} is not a directory`);
  }
  if (flags.url !== undefined && !/^https?:\/\/[^/]+(\/.*)?\/mcp\/?(\?.*)?$/.test(flags.url)) {
    throw new UsageError(
      `${flags.urlFrom ?? '--url'} is the MCP URL of Baton, e.g. http://127.0.0.1:8787/mcp`,
    );
  }
  if (flags.token !== undefined && !TOKEN.test(flags.token)) {
    throw new UsageError(
      `${flags.tokenFrom ?? '--token'} is not a Baton token (baton_ and 43 more characters)`,
    );
  }
  // Inside a git repository the kit belongs at its root, where the hooks look for it.
  const root = git(dir, ['rev-parse', '--show-toplevel']) ?? path.resolve(dir);
  // Everything that can refuse is checked before anything is written.
  mergeSettings(readJson(path.join(root, '.claude', 'settings.json'), '.claude/settings.json'));
  mergeMcp(readJson(path.join(root, '.mcp.json'), '.mcp.json'), DEFAULT_URL, '');
  locateGitHook(root);
  const report: string[] = [];
  copyHooks(root, report);
  installGitHook(root, report);
  installSettings(root, report);
  const conn = installMcp(root, flags, report);
  await installConfig(root, report);
  installIgnores(root, conn, report);
  return { root, report, check: await checkConnection(conn) };
}

export const kitVerb: Verb = {
  name: 'kit',
  summary: 'install the adherence kit (hooks) into a repository',
  usage:
    'baton kit install [--dir <repository>] [--url <mcp url>] [--token <token>]\n\n' +
    'Installs the Claude Code hooks (claim reconcile before writes, the whats_new digest at session\n' +
    'start) and the git pre-commit hook (claim reconcile and lease guard), chaining an existing\n' +
    'pre-commit hook. Merges .claude/settings.json and .mcp.json, writes baton.config.json unless\n' +
    'one exists, and prints the CLAUDE.md block to paste. Safe to run again.\n\n' +
    '--dir    the repository (default: the current directory)\n' +
    '--url    the Baton MCP URL (default: BATON_URL, then .mcp.json, then ' +
    DEFAULT_URL +
    ')\n' +
    '--token  the token for this checkout (default: BATON_TOKEN, then .mcp.json); never printed',
  async run(argv) {
    const a = parse(
      kitVerb,
      argv,
      { dir: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' } },
      { min: 1, max: 1 },
    );
    if (!a) return help(kitVerb);
    if (a.positionals[0] !== 'install') {
      throw new UsageError(
        `unknown subcommand "${String(a.positionals[0]).slice(0, 40)}"; try baton kit install`,
      );
    }
    // BATON_URL and BATON_TOKEN are the hooks' client-side variables (spec §11), read here as
    // defaults for the flags; they are not the server's configuration.
    const url = a.values.url as string | undefined;
    const token = a.values.token as string | undefined;
    const { root, report, check } = await installKit(path.resolve(String(a.values.dir ?? '.')), {
      url: url ?? (process.env.BATON_URL || undefined),
      urlFrom: url === undefined ? 'BATON_URL' : '--url',
      token: token ?? (process.env.BATON_TOKEN || undefined),
      tokenFrom: token === undefined ? 'BATON_TOKEN' : '--token',
    });
    const lines = report.length > 0 ? report : ['everything was already in place'];
    process.stdout.write(
      [
        `Baton adherence kit in ${root}:`,
        ...lines.map((l) => `  ${l}`),
        `  ${check}`,
        '',
        'Paste this into CLAUDE.md (or AGENTS.md) so agents know the protocol:',
        '',
        fs.readFileSync(path.join(KIT, 'CLAUDE.md'), 'utf8').trimEnd(),
        '',
      ].join('\n'),
    );
    return 0;
  },
};
