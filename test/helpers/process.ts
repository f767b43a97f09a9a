import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Running the real `baton` command (the built dist/, as `npm start` does) as a child process.

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${ROOT}dist/cli/index.js`;

/**
 * TEST_BATON_WORKERS=<n> (`npm run test:workers`): the suites' servers run as `baton serve`
 * processes with BATON_WORKERS=<n>, in-process servers included (serve-baton.ts).
 */
export const SERVE_WORKERS: string | undefined = process.env.TEST_BATON_WORKERS || undefined;

/** What a test adds to the environment of a `baton serve` it starts, for TEST_BATON_WORKERS. */
export function workersEnv(): Record<string, string> {
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
