import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';
import type { Config } from './config.js';
import { openDatabase } from './db/open.js';
import { startPruneJob } from './db/prune.js';
import type { Logger } from './log.js';
import { bootstrapIfWanted, startBaton, type Baton } from './main.js';
import type { IdentityNote, IdentityPeers } from './http/identity-memory.js';
import type { Exposition } from './metrics.js';

// BATON_WORKERS > 1: `baton serve` as a primary process and that many workers on one port
// (node:cluster hands each new connection to the next worker). Each worker is the same stateless
// Baton that several processes on one database already are (docs/scaling.md), on the database
// the primary prepared: the primary starts the embedded PostgreSQL (once) or checks the external
// one, migrates, bootstraps and prints the first token, runs the retention job, gathers the
// workers' metrics, passes on what each worker learns of tokens (for answering while the
// database is away), replaces a worker that dies, and on SIGTERM or SIGINT stops the workers
// before the database. Messages go as structured clones ('advanced' serialization: dates stay
// dates).

/** What `baton serve` needs of a running server, whether one process or a primary of workers. */
export type Served = Pick<Baton, 'address' | 'database' | 'bootstrap' | 'close'>;

type Message =
  | { baton: 'ready'; port: number }
  /** A worker asks the primary for every worker's metrics… */
  | { baton: 'gather'; id: number }
  /** …and gets them, or why not. */
  | { baton: 'metrics'; id: number; exposition: Exposition }
  | { baton: 'metrics'; id: number; error: string }
  /** What the database said of a token, from one worker to the others (identity-memory.ts). */
  | { baton: 'identity'; note: IdentityNote };

const isBatonMessage = (m: unknown): m is Message =>
  typeof m === 'object' && m !== null && 'baton' in m;

/** Time for the workers to finish in-flight requests before they are killed. */
const WORKER_STOP_MS = 4_000;
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;

export function isWorker(): boolean {
  return cluster.isWorker;
}

/** The primary: prepares the database, starts `config.workers` workers, resolves once all serve. */
export async function startWorkers(config: Readonly<Config>, log: Logger): Promise<Served> {
  const database = await openDatabase(config, log, { schema: 'auto' });
  let bootstrap: Served['bootstrap'];
  try {
    bootstrap = await bootstrapIfWanted(database, config);
  } catch (err) {
    await database.close();
    throw err;
  }
  // Workers read their configuration as any Baton does, with the database made explicit and
  // the primary's duties (bootstrap, retention) left to it.
  const env = {
    DATABASE_URL: database.url,
    DATABASE_DIRECT_URL: database.directUrl,
    BATON_BOOTSTRAP: '0',
    BATON_PRUNE_INTERVAL_HOURS: '0',
  };
  cluster.setupPrimary({ serialization: 'advanced' });
  const aggregator = new client.AggregatorRegistry();
  const workers = new Set<Worker>();
  let stopping = false;
  let failures = 0;

  const answerMetrics = (worker: Worker, id: number) => {
    aggregator.clusterMetrics().then(
      (text) =>
        send(worker, {
          baton: 'metrics',
          id,
          exposition: { contentType: aggregator.contentType, text },
        }),
      (err: unknown) => send(worker, { baton: 'metrics', id, error: String(err) }),
    );
  };

  const fork = (onReady?: (port: number) => void, onEarlyExit?: (code: string) => void) => {
    const worker = cluster.fork(env);
    workers.add(worker);
    let ready = false;
    worker.on('message', (m: unknown) => {
      if (!isBatonMessage(m)) return;
      if (m.baton === 'ready') {
        ready = true;
        failures = 0;
        onReady?.(m.port);
      } else if (m.baton === 'gather') {
        answerMetrics(worker, m.id);
      } else if (m.baton === 'identity') {
        for (const other of workers) if (other !== worker) send(other, m);
      }
    });
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      const how = signal ?? `exit ${code}`;
      if (!ready && onEarlyExit) return onEarlyExit(how);
      // A worker that dies while serving is replaced, later after each failure in a row.
      const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** failures++);
      log.error(
        { pid: worker.process.pid, how, restartInMs: delay },
        'a worker died; replacing it',
      );
      setTimeout(() => {
        if (!stopping) fork();
      }, delay).unref();
    });
    return worker;
  };

  const stopWorkers = async () => {
    stopping = true;
    const exits = [...workers].map(
      (w) =>
        new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))),
    );
    for (const w of workers) w.process.kill('SIGTERM');
    const late = setTimeout(() => {
      for (const w of workers) w.process.kill('SIGKILL');
    }, WORKER_STOP_MS);
    await Promise.all(exits);
    clearTimeout(late);
  };

  let port: number;
  try {
    const ports = await Promise.all(
      Array.from(
        { length: config.workers },
        () =>
          new Promise<number>((resolve, reject) =>
            fork(resolve, (how) =>
              reject(new Error(`a worker could not start (${how}); its reason is logged above`)),
            ),
          ),
      ),
    );
    port = ports[0] as number;
  } catch (err) {
    await stopWorkers();
    await database.close();
    throw err;
  }
  const stopPruning = startPruneJob(database.storage.db, config.pruneIntervalHours, log);
  let closing: Promise<void> | undefined;
  return {
    address: { address: config.host, family: config.host.includes(':') ? 'IPv6' : 'IPv4', port },
    database,
    bootstrap,
    close: () =>
      (closing ??= (async () => {
        stopPruning();
        await stopWorkers();
        await database.close();
      })()),
  };
}

/**
 * A worker: serves until SIGTERM from the primary (SIGINT, which a terminal sends to the whole
 * process group, is the primary's to act on), then closes as a single process does.
 */
export async function runWorker(config: Readonly<Config>, log: Logger): Promise<number> {
  process.on('SIGINT', () => {});
  const heard = new Set<(note: IdentityNote) => void>();
  const peers: IdentityPeers = {
    tell: (note) => send('primary', { baton: 'identity', note }),
    hear: (fn) => {
      heard.add(fn);
      return () => void heard.delete(fn);
    },
  };
  process.on('message', (m: unknown) => {
    if (isBatonMessage(m) && m.baton === 'identity') for (const fn of heard) fn(m.note);
  });
  const baton = await startBaton(config, log.child({ worker: cluster.worker?.id }), {
    identityPeers: peers,
  });
  shareMetrics(baton);
  send('primary', { baton: 'ready', port: (baton.address as AddressInfo).port });
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  // The primary kills what is left after WORKER_STOP_MS; exit on our own just before.
  setTimeout(() => process.exit(1), WORKER_STOP_MS - 250).unref();
  await baton.close();
  return 0;
}

/** /metrics on any worker answers for all of them, as gathered by the primary. */
function shareMetrics(baton: Baton): void {
  client.AggregatorRegistry.setRegistries([baton.metrics.registry]);
  new client.AggregatorRegistry(); // answers the primary's requests for this worker's metrics
  let next = 0;
  const waiting = new Map<number, (m: Extract<Message, { baton: 'metrics' }>) => void>();
  process.on('message', (m: unknown) => {
    if (isBatonMessage(m) && m.baton === 'metrics') waiting.get(m.id)?.(m);
  });
  baton.metrics.gatherWith(
    () =>
      new Promise<Exposition>((resolve, reject) => {
        const id = next++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error('the primary did not gather the metrics within 10 s'));
        }, 10_000);
        waiting.set(id, (m) => {
          clearTimeout(timer);
          waiting.delete(id);
          if ('exposition' in m) resolve(m.exposition);
          else reject(new Error(m.error));
        });
        send('primary', { baton: 'gather', id });
      }),
  );
}

/** Sends on the IPC channel unless it is gone (a worker that died, a primary that did). */
function send(to: Worker | 'primary', message: Message): void {
  if (to === 'primary') {
    if (process.connected) process.send?.(message);
  } else if (to.isConnected()) to.send(message);
}
