import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { ROOT, now } from './lib.js';

// `baton connect` to its first answer: the time from spawning the built command until it writes
// its answer to `initialize` on stdout. That is what a runtime waits for before the session's
// tools exist, and it is mostly the time to load the modules the command imports.

const INITIALIZE = `${JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'bench', version: '1' },
  },
})}\n`;

const CLI = `${ROOT}dist/cli/index.js`;
/** The floor: Node itself, answering the first line on stdin at once. */
const BARE_NODE = [
  '-e',
  `process.stdin.once('data', () => process.stdout.write('{"jsonrpc":"2.0","id":1,"result":{}}\\n'))`,
];

async function once(mcpUrl: string, token: string, cli: string | undefined): Promise<number> {
  const t0 = now();
  const child = spawn(process.execPath, cli === undefined ? BARE_NODE : [cli, 'connect'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      BATON_URL: mcpUrl,
      BATON_TOKEN: token,
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  child.stdin.write(INITIALIZE);
  const answered = await new Promise<number>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if ((JSON.parse(line) as { id?: unknown }).id === 1) resolve(now() - t0);
    });
    child.on('exit', (code) => reject(new Error(`baton connect exited (${code}) unanswered`)));
  });
  child.stdin.end(); // the client goes away: the bridge exits
  await exited;
  return answered;
}

/**
 * Median and spread of `runs` spawns, after one untimed spawn that warms the file cache, beside
 * the same for bare Node in the same run. `cli` is this build's unless given (another build's,
 * to compare).
 */
export async function connectToInitialize(mcpUrl: string, token: string, runs: number, cli = CLI) {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  await once(mcpUrl, token, cli);
  const samples: number[] = [];
  const floor: number[] = [];
  // Alternated, so that the machine's load weighs on both alike.
  for (let i = 0; i < runs; i++) {
    samples.push(await once(mcpUrl, token, cli));
    floor.push(await once(mcpUrl, token, undefined));
  }
  return {
    runs: samples.map((s) => Math.round(s * 10) / 10).sort((a, b) => a - b),
    median: median(samples),
    node: median(floor),
  };
}
