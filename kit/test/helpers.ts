import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { callApi } from '../../test/helpers/agents.js';
import type { TestBaton } from '../../test/helpers/baton.js';
import { ROOT } from '../../test/helpers/process.js';

// The kit's tests run the real hook scripts as child processes, in throwaway git repositories,
// against a real Baton or against servers that fail in the ways a network can.

export const HOOKS = path.join(ROOT, 'kit', 'hooks');
export const hookScript = (name: string) => path.join(HOOKS, `${name}.mjs`);

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Git isolated from this machine's configuration: a HOME of its own, no system config. */
export function gitEnv(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: home, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C' };
}

export interface Repo {
  dir: string;
  home: string;
  git(...args: string[]): string;
  write(rel: string, content?: string): string;
  read(rel: string): string;
  exists(rel: string): boolean;
  /** The JSON lines of .baton/<name>.log. */
  log(name: 'pending' | 'overrides'): Record<string, any>[];
}

const ADR_CONFIG = { version: 1, sequences: [{ glob: 'docs/adr/*.md', sequence: 'adr' }] };

/** A new git repository with one commit; `config` becomes baton.config.json (null: none). */
export function makeRepo(config: unknown = ADR_CONFIG): Repo {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-kit-'));
  made.push(base);
  const dir = path.join(base, 'repo');
  const home = path.join(base, 'home');
  fs.mkdirSync(dir);
  fs.mkdirSync(home);
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: dir, env: gitEnv(home), encoding: 'utf8' });
  const write = (rel: string, content = `# ${rel}\n`) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  };
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Kit Test');
  git('config', 'user.email', 'kit@example.test');
  git('config', 'commit.gpgsign', 'false');
  write('README.md');
  if (config !== null) write('baton.config.json', JSON.stringify(config, null, 2));
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return {
    dir,
    home,
    git,
    write,
    read: (rel) => fs.readFileSync(path.join(dir, rel), 'utf8'),
    exists: (rel) => fs.existsSync(path.join(dir, rel)),
    log: (name) => {
      const file = path.join(dir, '.baton', `${name}.log`);
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, any>);
    },
  };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion, feeding `stdin`, and times it from spawn to exit. */
export function run(
  command: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; stdin?: string },
): Promise<Ran> {
  const started = performance.now();
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(opts.stdin ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

export interface Endpoint {
  url: string;
  token: string;
}

/** The environment a hook runs with: only what it is given, plus PATH and an isolated HOME. */
export function hookEnv(repo: Repo, to?: Endpoint, extra: Record<string, string> = {}) {
  return {
    ...gitEnv(repo.home),
    ...(to ? { BATON_URL: to.url, BATON_TOKEN: to.token } : {}),
    ...extra,
  };
}

/** A Claude Code PreToolUse call of Write, as Claude Code writes it on the hook's stdin. */
export function writeCall(repo: Repo, rel: string, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    session_id: 'session-1',
    transcript_path: path.join(repo.home, 'transcript.jsonl'),
    cwd: repo.dir,
    permission_mode: 'default',
    hook_event_name: 'PreToolUse',
    tool_name: 'Write',
    tool_input: { file_path: path.join(repo.dir, rel), content: `# ${rel}\n` },
    tool_use_id: 'toolu_01',
    ...extra,
  });
}

export function claimReconcile(
  repo: Repo,
  rel: string,
  to?: Endpoint,
  extra?: Record<string, string>,
) {
  return run(process.execPath, [hookScript('claim-reconcile')], {
    cwd: repo.dir,
    env: hookEnv(repo, to, extra),
    stdin: writeCall(repo, rel),
  });
}

export function sessionStart(repo: Repo, to?: Endpoint, extra?: Record<string, string>) {
  return run(process.execPath, [hookScript('session-start')], {
    cwd: repo.dir,
    env: hookEnv(repo, to, extra),
    stdin: JSON.stringify({
      session_id: 'session-1',
      transcript_path: path.join(repo.home, 'transcript.jsonl'),
      cwd: repo.dir,
      hook_event_name: 'SessionStart',
      source: 'startup',
    }),
  });
}

/** The pre-commit script itself, run the way git runs it: from the top of the work tree. */
export function preCommit(repo: Repo, to?: Endpoint, extra?: Record<string, string>) {
  return run(process.execPath, [hookScript('pre-commit')], {
    cwd: repo.dir,
    env: hookEnv(repo, to, extra),
  });
}

/** `git commit` through whatever hooks the repository has installed. */
export function commit(repo: Repo, message: string, to?: Endpoint, extra?: Record<string, string>) {
  return run('git', ['commit', '-q', '-m', message], {
    cwd: repo.dir,
    env: hookEnv(repo, to, extra),
  });
}

/** Installs the source pre-commit script as the repository's git hook. */
export function useSourcePreCommit(repo: Repo): void {
  const hook = path.join(repo.dir, '.git', 'hooks', 'pre-commit');
  fs.writeFileSync(hook, `#!/bin/sh\nexec "${process.execPath}" "${hookScript('pre-commit')}"\n`, {
    mode: 0o755,
  });
}

/** Servers that fail the ways a network can: nothing listening, no answer, or nonsense. */
export async function deadEndpoint(): Promise<Endpoint> {
  return { url: `http://127.0.0.1:${await freePort()}/mcp`, token: 'baton_' + 'x'.repeat(43) };
}

export async function fakeServer(
  answer: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<Endpoint & { close(): Promise<void>; requests: number }> {
  const sockets = new Set<import('node:net').Socket>();
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    req.resume();
    answer(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    token: 'baton_' + 'x'.repeat(43),
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export const hangingServer = () => fakeServer(() => {});
export const garbageServer = (status = 200, body = '<html>oops</html>') =>
  fakeServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });

/** A participant as the kit tests use it: where its hooks reach Baton, and its own API calls. */
export interface Who extends Endpoint {
  actor: string;
  api(name: string, args?: Record<string, unknown>): ReturnType<typeof callApi>;
}

export async function participant(baton: TestBaton, project: string, label: string): Promise<Who> {
  const s = await baton.seed({ projectSlug: project, label });
  return {
    url: baton.mcpUrl,
    token: s.token,
    actor: s.actor,
    api: (name, args = {}) => callApi(baton, s.token, name, args),
  };
}
