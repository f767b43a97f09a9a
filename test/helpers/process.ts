import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/db/embedded.js';

// Running the real `baton` command (the built dist/, as `npm start` does) as a child process.

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${ROOT}dist/cli/index.js`;

/**
 * TEST_BATON_WORKERS=<n> (`npm run test:workers`): the suites' servers run as `baton serve`
 * processes with BATON_WORKERS=<n>, in-process servers included (serve-baton.ts).
 */
export const SERVE_WORKERS: string | undefined = process.env.TEST_BATON_WORKERS || undefined;

/** What serveProcess adds to the environment of a `baton serve`, for TEST_BATON_WORKERS. */
function workersEnv(): Record<string, string> {
  return SERVE_WORKERS === undefined ? {} : { BATON_WORKERS: SERVE_WORKERS };
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function start(
  command: string,
  args: string[],
  env: Record<string, string>,
  opts: { detached?: boolean; cwd?: string } = {},
): Running {
  const child = spawn(command, args, {
    cwd: opts.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: async (pattern, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      let gone = false;
      void exited.then(() => (gone = true));
      while (!pattern.test(out + err)) {
        if (gone) throw new Error(`process exited before ${pattern}: ${out}${err}`);
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${pattern}: ${out}${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** SIGTERM, then waits for the exit; SIGKILL when it has not exited within `graceMs`. */
export async function stopRunning(run: Running, graceMs = 10_000): Promise<void> {
  run.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
  });
  try {
    if ((await Promise.race([run.exited, late])) === 'late') {
      run.child.kill('SIGKILL');
      await run.exited;
    }
  } finally {
    clearTimeout(timer);
  }
}

export interface ServeProcess {
  run: Running;
  port: number;
  baseUrl: string;
  mcpUrl: string;
  /** stopRunning(): SIGTERM, the exit awaited, SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** Every `baton serve` serveProcess started in this file and not stopped yet. */
const serving = new Set<ServeProcess>();
/** serveProcess calls between their start and the child being in `serving`. */
const spawning = new Set<Promise<unknown>>();

/**
 * A `baton serve` process (the built dist/) on a free port, ready: HOST 127.0.0.1, LOG_LEVEL
 * info (for the line that says it is ready), no rate limit and workersEnv(), then `env`. The
 * child is recorded before its readiness is awaited, so stopServeProcesses() stops it even when
 * it never becomes ready or a sibling started alongside fails; one that is not ready within
 * `readyMs` is stopped and fails the call.
 */
export async function serveProcess(
  env: Record<string, string>,
  opts: { readyMs?: number } = {},
): Promise<ServeProcess> {
  const spawned = (async () => {
    const port = await freePort();
    const run = start(process.execPath, [CLI, 'serve'], {
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      BATON_RATE_LIMIT: '0',
      ...workersEnv(),
      ...env,
    });
    const proc: ServeProcess = {
      run,
      port,
      baseUrl: `http://127.0.0.1:${port}`,
      mcpUrl: `http://127.0.0.1:${port}/mcp`,
      stop: async () => {
        await stopRunning(run);
        serving.delete(proc);
      },
    };
    serving.add(proc);
    return proc;
  })();
  spawning.add(spawned);
  let proc: ServeProcess;
  try {
    proc = await spawned;
  } finally {
    spawning.delete(spawned);
  }
  try {
    await proc.run.waitFor(/Baton is ready/, opts.readyMs ?? 60_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/** Stops every process serveProcess started and nobody stopped, starting ones included. */
export async function stopServeProcesses(): Promise<void> {
  await Promise.allSettled([...spawning]);
  await Promise.all([...serving].map((p) => p.stop()));
}

/** Runs the CLI to completion. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = start(process.execPath, [CLI, ...args], env);
  return p.exited.then(({ code }) => ({ code, stdout: p.stdout(), stderr: p.stderr() }));
}

/** Live postgres server processes whose data directory is under dir. */
export function postgresProcessesUnder(dir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(dir) && /postgres/.test(l));
}
