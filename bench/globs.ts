import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { seedToken } from '../src/access/seed.js';
import { freePort } from '../src/db/embedded.js';
import type { Db } from '../src/db/pool.js';
import { now, openSession, RawClient, startBaton, summarize, type McpSession } from './lib.js';

// Another tenant's whoami while one token sends pathological globs (spec §12): one participant
// holds 200 shared leases of 512-character globs and floods lease, who_holds and check_paths at
// its rate limit; tenants of other owners call whoami meanwhile, as they did at rest before.
// A Baton of its own runs this, with the default rate limit (the main one has it off).

const RATE_LIMIT = 100;
const VICTIMS = 4;
/** whoami calls a second per victim: well under the rate limit. */
const VICTIM_RATE = 40;

/** `**\/` 169 times and a 5-character tail: 512 characters. */
const chain = (tail: string) => `${'**/'.repeat(169)}${tail}`;
/** A 512-character glob whose subset automaton explodes on irregular runs of a and b. */
const hostile = (j: number) => `*a${'?'.repeat(29)}${'b'.repeat(j)}c${'b'.repeat(479 - j)}*`;

let seed = 11;
const coin = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >> 16) & 1;
const abPath = () => Array.from({ length: 512 }, () => (coin() ? 'a' : 'b')).join('');

let rpcId = 1;

/** One tools/call over MCP; the outcome is `ok` or the error code, never a throw. */
async function call(raw: RawClient, s: McpSession, name: string, args: string): Promise<string> {
  const res = await raw.post(
    '/mcp',
    `{"jsonrpc":"2.0","id":${rpcId++},"method":"tools/call","params":{"name":"${name}","arguments":${args}}}`,
    {
      authorization: `Bearer ${s.token}`,
      'mcp-session-id': s.sessionId,
      'mcp-protocol-version': '2025-06-18',
    },
  );
  if (res.status === 429) return 'rate_limited';
  if (res.status !== 200) return `http_${res.status}`;
  // Only errors are read: the large answers are counted, not parsed.
  if (!res.body.includes('"isError":true')) return 'ok';
  const msg = JSON.parse(res.body) as {
    result?: { structuredContent?: { error?: { code: string } } };
  };
  return msg.result?.structuredContent?.error?.code ?? 'error';
}

async function holdAll(raw: RawClient, s: McpSession, surfaces: string[]) {
  for (let i = 0; i < surfaces.length; i += 20) {
    const outcomes = await Promise.all(
      surfaces
        .slice(i, i + 20)
        .map((surface) => call(raw, s, 'lease', JSON.stringify({ surface, mode: 'shared' }))),
    );
    const bad = outcomes.find((o) => o !== 'ok');
    if (bad) throw new Error(`setting up the glob flood: lease answered ${bad}`);
  }
}

/** whoami from every victim, paced, for `seconds`: the latencies. */
async function whoamis(raw: RawClient, victims: McpSession[], seconds: number) {
  const latencies: number[] = [];
  const errors: string[] = [];
  const end = now() + seconds * 1000;
  await Promise.all(
    victims.map(async (v) => {
      for (let next = now(); next < end; next += 1000 / VICTIM_RATE) {
        const wait = next - now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const t = now();
        const outcome = await call(raw, v, 'whoami', '{}');
        latencies.push(now() - t);
        if (outcome !== 'ok') errors.push(outcome);
      }
    }),
  );
  return { ...summarize(latencies), errors: errors.length };
}

/**
 * The flood: four callers send the pathological mix back to back for `seconds`, from `attacker`;
 * how each call ended, counted. Runs in the attacker's own process (bench/glob-attacker.ts).
 */
export async function flood(
  raw: RawClient,
  attacker: McpSession,
  seconds: number,
): Promise<Record<string, number>> {
  const deep = JSON.stringify({
    paths: Array.from(
      { length: 1000 },
      (_, i) => `${'a/'.repeat(253)}x${String(i).padStart(4, '0')}`,
    ),
  });
  const ab = JSON.stringify({ paths: Array.from({ length: 1000 }, abPath) });
  let fresh = 0;
  const mix: [string, () => string][] = [
    ['who_holds', () => JSON.stringify({ surface: chain('xqqqq') })],
    ['who_holds', () => JSON.stringify({ surface: abPath() })],
    ['check_paths', () => deep],
    ['check_paths', () => '{"paths":["src/x"]}'],
    ['check_paths', () => ab],
    ['lease', () => JSON.stringify({ surface: chain('xqqqq') })],
    ['lease', () => JSON.stringify({ surface: abPath() })],
    [
      'lease',
      () =>
        JSON.stringify({ surface: chain(`z${String(fresh++).padStart(4, '0')}`), mode: 'shared' }),
    ],
    ['lease', () => JSON.stringify({ surface: '*a'.repeat(33) })],
    ['lease', () => JSON.stringify({ surface: `a/${'**/b/'.repeat(9)}x` })],
  ];
  const outcomes: Record<string, number> = {};
  const end = now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (now() < end) {
        const [tool, args] = mix[n++ % mix.length] as [string, () => string];
        const outcome = `${tool} ${await call(raw, attacker, tool, args())}`;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
    }),
  );
  return outcomes;
}

/**
 * bench/glob-attacker.ts in a child process, once it is ready: `start` sends it its input, and
 * `outcomes` resolves with its counts.
 */
async function spawnAttacker(port: number, attacker: McpSession, seconds: number) {
  const script = fileURLToPath(new URL('./glob-attacker.ts', import.meta.url));
  // The same loader flags this process runs under (tsx), so the child runs TypeScript too.
  const child = spawn(process.execPath, [...process.execArgv, script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (c: string) => {
      out += c;
      if (out.startsWith('ready\n')) {
        out = out.slice('ready\n'.length);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    void exited.then((code) => reject(new Error(`the glob attacker exited with ${code}`)));
  });
  return {
    start: () => child.stdin.end(JSON.stringify({ port, attacker, seconds })),
    outcomes: exited.then((code) => {
      if (code !== 0) throw new Error(`the glob attacker exited with ${code}`);
      return JSON.parse(out) as Record<string, number>;
    }),
  };
}

async function lagMaxMs(raw: RawClient): Promise<number> {
  const text = (await raw.get('/metrics')).body;
  const line = text
    .split('\n')
    .find((l) => l.startsWith('baton_nodejs_eventloop_lag_max_seconds '));
  return Number(line?.split(' ')[1]) * 1000;
}

export async function globFlood(db: Db, databaseUrl: string, seconds: number) {
  const port = await freePort();
  const baton = await startBaton(
    {
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'warn',
      BATON_RATE_LIMIT: String(RATE_LIMIT),
      DB_POOL_MAX: '20',
    },
    port,
  );
  const raw = new RawClient(port);
  try {
    const seedAs = (email: string, projectSlug: string, label: string) =>
      seedToken(db, { email, projectSlug, label }).then((t) => openSession(raw, t.token));
    const attacker = await seedAs('flood@example.test', 'glob-flood', 'attacker');
    const holder = await seedAs('flood@example.test', 'glob-flood', 'holder');
    const victims = await Promise.all(
      Array.from({ length: VICTIMS }, (_, i) =>
        seedAs(`tenant-${i}@example.test`, `tenant-${i}`, 'worker'),
      ),
    );
    const ids = Array.from({ length: 200 }, (_, i) => String(i).padStart(4, '0'));
    await holdAll(
      raw,
      attacker,
      ids.map((id) => chain(`x${id}`)),
    );
    // Another holder in the project, so that the attacker's check_paths and exclusive leases
    // weigh something: more chains, and globs that are costly to match.
    await holdAll(raw, holder, [
      ...ids.slice(0, 100).map((id) => chain(`y${id}`)),
      ...ids.slice(0, 100).map((_, j) => hostile(j)),
    ]);
    // Warm-up; the attacker's bucket refills meanwhile, so the flood starts from a full burst.
    await whoamis(raw, victims, 3);
    const rest = await whoamis(raw, victims, seconds);

    // The attacker runs in a process of its own, as it would on a machine of its own: its
    // client's work must not delay the victims' clocks in this process.
    const attack = await spawnAttacker(port, attacker, seconds);
    await lagMaxMs(raw); // resets the window
    attack.start();
    const during = await whoamis(raw, victims, seconds);
    const outcomes = await attack.outcomes;
    const lag = await lagMaxMs(raw);
    return { rest, during, outcomes, lagMaxMs: lag };
  } finally {
    raw.close();
    await baton.stop();
  }
}
