import { clientEnv } from '../config.js';
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
import { inspectInside, Refused, writeInside } from '../../kit/hooks/lib/files.mjs';

// `baton kit install`: puts the adherence kit (kit/, spec §11) into a repository. Every file is
// merged with or compared to what is there before it is written, so a second run changes nothing.
// The token goes into .mcp.json and nowhere else: it is never printed. Every write goes through
// the kit's files.mjs, as the hooks' logs do: a symbolic link in the repository (a committed
// `.claude`, `.baton/hooks`, `.gitignore` ...) is refused, never written through, and nothing is
// written outside the repository and git's own directory.

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

/** "/"-separated `file` relative to `base`, or undefined when it is not inside it. */
function inside(base: string, file: string): string | undefined {
  const rel = path.relative(base, file);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    return undefined;
  }
  return rel.split(path.sep).join('/');
}

const refusal = (err: unknown) =>
  err instanceof Refused
    ? new KitFileError(`${err.message}; make it a real file or directory and run again`)
    : err;

/** Refuses, before anything is written, a link or an odd file where the kit will write. */
function checkTarget(base: string, rel: string): 'absent' | 'file' {
  try {
    return inspectInside(base, rel);
  } catch (err) {
    throw refusal(err);
  }
}

/** Writes `content` below `base` unless the file already holds it; never through a link. */
function put(base: string, rel: string, content: string, mode?: number): Change {
  try {
    return writeInside(base, rel, content, mode);
  } catch (err) {
    throw refusal(err);
  }
}

const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

/** The hook scripts to copy: "/"-separated paths under kit/hooks/, top-level ones executable. */
function hookScripts(): string[] {
  const source = path.join(KIT, 'hooks');
  if (!fs.existsSync(source)) throw new Error(`the kit's hook scripts are missing (${source})`);
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(source, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      else if (e.name.endsWith('.mjs')) out.push(child);
    }
  };
  walk('');
  return out;
}

/** The hook scripts, copied so they run with nothing but Node in the repository. */
function copyHooks(root: string, report: string[]): void {
  let changed = 0;
  for (const script of hookScripts()) {
    const content = fs.readFileSync(path.join(KIT, 'hooks', script), 'utf8');
    const mode = script.includes('/') ? 0o644 : 0o755;
    if (put(root, `${HOOKS_DIR}/${script}`, content, mode)) changed++;
  }
  if (changed > 0) report.push(`copied ${changed} hook script(s) into ${HOOKS_DIR}/`);
}

interface GitHook {
  /** Where it is written from: the work tree's root, or git's common directory. */
  base: string;
  /** The hook and the chained one, "/"-separated below `base`. */
  hook: string;
  local: string;
  shown: string;
  /** A pre-commit hook that is not Baton's is there: it becomes pre-commit.local. */
  chain: boolean;
}

type Located = GitHook | { skipped: string };

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Where the git hook goes (core.hooksPath and linked worktrees included), and what is there. A
 * hooks directory outside both the work tree and git's directory (a core.hooksPath shared by
 * every repository) is not written to: the kit would reach into every other repository.
 */
function locateGitHook(root: string): Located {
  const hooksPath = git(root, ['rev-parse', '--git-path', 'hooks']);
  const commonDir = git(root, ['rev-parse', '--git-common-dir']);
  if (hooksPath === undefined || commonDir === undefined) {
    return { skipped: 'skipped the git pre-commit hook: not a git repository' };
  }
  const dir = path.resolve(root, hooksPath);
  const common = path.resolve(root, commonDir);
  const base = inside(root, dir) !== undefined ? root : common;
  const rel = inside(base, dir);
  if (rel === undefined) {
    return {
      skipped:
        `skipped the git pre-commit hook: git runs hooks from ${dir}, outside this repository; ` +
        `have the pre-commit hook there run "node ${HOOKS_DIR}/pre-commit.mjs"`,
    };
  }
  const hook = `${rel}/pre-commit`;
  const local = `${rel}/${LOCAL_HOOK}`;
  const shown = path.relative(root, path.join(base, hook)) || hook;
  // A link is never written through, so one in the hook's place is kept as the chained hook.
  const stat = lstatOrUndefined(path.join(base, hook));
  const chain =
    stat !== undefined &&
    (stat.isSymbolicLink() ||
      !fs.readFileSync(path.join(base, hook), 'utf8').includes(PRE_COMMIT_MARKER));
  if (chain && lstatOrUndefined(path.join(base, local)) !== undefined) {
    throw new KitFileError(
      `${shown} is not Baton's and ${LOCAL_HOOK} exists beside it; merge them into ${LOCAL_HOOK} and run again`,
    );
  }
  checkTarget(base, chain ? local : hook);
  return { base, hook, local, shown, chain };
}

/** The git hook, chaining whatever pre-commit hook was there before. */
function installGitHook(root: string, report: string[]): void {
  const found = locateGitHook(root);
  if ('skipped' in found) {
    report.push(found.skipped);
    return;
  }
  const { base, hook, local, shown, chain } = found;
  if (chain) {
    // rename(2) moves the entry itself, a link included; it never writes where a link points.
    fs.renameSync(path.join(base, hook), path.join(base, local));
    report.push(`kept the existing pre-commit hook as ${LOCAL_HOOK}; it runs first`);
  }
  const change = put(base, hook, PRE_COMMIT, 0o755);
  if (change) report.push(`${change} ${shown}`);
}

function installSettings(root: string, report: string[]): void {
  const file = path.join(root, '.claude', 'settings.json');
  const current = readJson(file, '.claude/settings.json');
  const merged = mergeSettings(current);
  if (current !== undefined && sameJson(current, merged)) return;
  put(root, '.claude/settings.json', json(merged));
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
    put(root, '.mcp.json', json(merged));
    report.push(
      `${current === undefined ? 'wrote' : 'updated'} .mcp.json (server "baton" at ${url})`,
    );
  }
  return { url, authorization } satisfies Connection;
}

function installConfig(root: string, report: string[]): Promise<void> | void {
  // Anything already there, a link included, is the user's: never written, through a link or not.
  if (lstatOrUndefined(path.join(root, 'baton.config.json')) === undefined) {
    put(root, 'baton.config.json', json(DEFAULT_CONFIG));
    report.push('wrote baton.config.json (docs/adr/*.md numbered by sequence "adr")');
    return;
  }
  // It is checked with the hooks' own reader.
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
    put(root, '.gitignore', next);
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

async function installKit(
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
  // Everything that can refuse is checked before anything is written: links and odd files where
  // the kit writes first, then what it would merge.
  for (const rel of [
    ...hookScripts().map((script) => `${HOOKS_DIR}/${script}`),
    '.claude/settings.json',
    '.mcp.json',
    '.gitignore',
  ]) {
    checkTarget(root, rel);
  }
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
      url: url ?? clientEnv().url,
      urlFrom: url === undefined ? 'BATON_URL' : '--url',
      token: token ?? clientEnv().token,
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
