import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { freePort } from '../src/db/embedded.js';
import { ROOT, now } from './lib.js';

// `npm start` to ready: the time from launching `npm start` (embedded PostgreSQL, data already
// initialised) until /readyz answers 200. One start first initialises the data; then three timed.

async function once(dataDir: string): Promise<number> {
  const port = await freePort();
  const t0 = now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      BATON_DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
    detached: true,
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  let ready = 0;
  while (!ready && now() - t0 < 60_000) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) ready = now() - t0;
    } catch {
      // not listening yet
    }
    if (!ready) await new Promise((r) => setTimeout(r, 10));
  }
  process.kill(-(child.pid as number), 'SIGINT');
  await exited;
  if (!ready) throw new Error('npm start did not become ready within 60 s');
  return ready;
}

export async function startToReady(dataDir: string) {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o755 });
  const first = await once(dataDir); // initialises the cluster and bootstraps
  const runs = [await once(dataDir), await once(dataDir), await once(dataDir)].sort(
    (a, b) => a - b,
  );
  return { first, runs, median: runs[1] as number };
}
