import pg from 'pg';
import type { Logger } from '../log.js';
import { LedgerPoller, Probe, PROBE_CHANNEL } from './hearing.js';
import { ACCESS_CHANNEL, EVENTS_CHANNEL } from './ledger.js';
import type { Executor } from './pool.js';

// Ledger wake-ups, across processes. Every append notifies EVENTS_CHANNEL at commit (see
// ledger.ts); one dedicated connection per process LISTENs and fans each notification out to the
// in-process subscribers of that project. Waiting readers therefore hold no pool connection and
// no transaction, and a commit made through another Baton process on the same database wakes
// them too.
//
// The connection is outside the pool on purpose: a pooled client is handed to other work and
// recycled, and LISTEN belongs to one session (DATABASE_DIRECT_URL: never a transaction-mode
// pooler). When it is lost, it reconnects with backoff and then tells every subscriber to
// resync, since notifications sent while it was away are gone.
//
// The listener also proves that it hears (hearing.ts): at start and then periodically it sends a
// probe through the pool and expects it back. While it does not hear, the ledger is polled about
// once a second instead, so waiters are woken late rather than never, and /readyz says why.

export type Wake =
  | { kind: 'event'; projectId: string; seq: string }
  /** The listener reconnected; anything may have happened meanwhile. */
  | { kind: 'resync' }
  /** The listener is shutting down; stop waiting. */
  | { kind: 'closed' };

export type Subscriber = (wake: Wake) => void;

export interface LedgerListener {
  /**
   * Resolves once LISTEN is in place and the first probe has come back or timed out; rejects
   * when the first connection fails.
   */
  start(): Promise<void>;
  /** Calls fn for every committed event of the project until the returned function is called. */
  subscribe(projectId: string, fn: Subscriber): () => void;
  /** Subscribers currently registered (for one project, or all). */
  subscriberCount(projectId?: string): number;
  readonly connected: boolean;
  /**
   * Notifications sent through the pool reach this listener, as the last probe proved. While
   * false, wake-ups come from polling the ledger (about once a second), and anything that
   * relies on hearing every commit at once must not.
   */
  readonly hearing: boolean;
  /** Why the listener does not hear, for /readyz; undefined while it does. */
  readonly problem: string | undefined;
  /** Calls fn with the new value whenever `hearing` changes, until the returned function is called. */
  onHearingChange(fn: (hearing: boolean) => void): () => void;
  /**
   * Calls fn with the project of every committed change to its access (ACCESS_CHANNEL: tokens
   * revoked, rights or names changed, sessions ended), until the returned function is called.
   * Heard only while `hearing`; a change made meanwhile is not replayed.
   */
  onAccessChange(fn: (projectId: string) => void): () => void;
  close(): Promise<void>;
}

export interface ListenerOptions {
  /** A direct connection (DATABASE_DIRECT_URL, else DATABASE_URL). */
  url: string;
  log: Logger;
  /** The pool: probes go through it, and the ledger is polled through it while not hearing. */
  db: Executor;
  /** Backoff bounds for reconnecting; tests shorten them. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Time between probes (default 10 s), and how long one may take to come back (3 s). */
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  /** Time between ledger polls while not hearing (default 1 s). */
  pollIntervalMs?: number;
}

const NOT_STARTED = 'the ledger listener has not started';
const LOST =
  'the ledger listener lost its connection to PostgreSQL and is reconnecting; long-polls and streams poll the ledger meanwhile';
const DEAF =
  'the ledger listener hears no notifications: its connection (DATABASE_DIRECT_URL, or DATABASE_URL when that is unset) ' +
  'probably goes through a transaction-mode pooler. Set DATABASE_DIRECT_URL to a direct connection to PostgreSQL; ' +
  'meanwhile long-polls and streams poll the ledger about once a second';

export function createLedgerListener(opts: ListenerOptions): LedgerListener {
  const minDelay = opts.minDelayMs ?? 250;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  const probeInterval = opts.probeIntervalMs ?? 10_000;
  const subscribers = new Map<string, Set<Subscriber>>();
  const hearingFns = new Set<(hearing: boolean) => void>();
  const accessFns = new Set<(projectId: string) => void>();
  const probe = new Probe(opts.db, opts.probeTimeoutMs ?? 3_000);
  let client: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  let hearing = false;
  let problem: string | undefined = NOT_STARTED;
  let deafLogged = false;
  let checking: Promise<void> | undefined;
  let nextCheck: NodeJS.Timeout | undefined;

  const deliver = (fn: Subscriber, wake: Wake) => {
    try {
      fn(wake);
    } catch (err) {
      opts.log.error({ err }, 'ledger subscriber failed');
    }
  };

  const broadcast = (wake: Wake) => {
    for (const set of subscribers.values()) for (const fn of [...set]) deliver(fn, wake);
  };

  const wakeProject = (projectId: string, seq: string) => {
    const set = subscribers.get(projectId);
    if (!set) return;
    const wake: Wake = { kind: 'event', projectId, seq };
    for (const fn of [...set]) deliver(fn, wake);
  };

  const poller = new LedgerPoller({
    db: opts.db,
    log: opts.log,
    intervalMs: opts.pollIntervalMs ?? 1_000,
    projects: () => subscribers.keys(),
    wake: wakeProject,
  });

  function setHearing(value: boolean, why?: string): void {
    problem = value ? undefined : why;
    if (value || closed) poller.stop();
    else poller.start();
    if (value === hearing) return;
    hearing = value;
    for (const fn of [...hearingFns]) {
      try {
        fn(value);
      } catch (err) {
        opts.log.error({ err }, 'a listener-state callback failed');
      }
    }
  }

  /** One probe (or the one in flight), then the next scheduled. */
  function check(): Promise<void> {
    checking ??= (async () => {
      clearTimeout(nextCheck);
      const outcome = client ? await probe.run() : 'unsent';
      if (closed) return;
      if (client && outcome === 'heard') {
        if (deafLogged) opts.log.info('the ledger listener hears notifications again');
        deafLogged = false;
        setHearing(true);
      } else if (client && outcome === 'silent') {
        if (!deafLogged) opts.log.error({ probeChannel: PROBE_CHANNEL }, DEAF);
        deafLogged = true;
        setHearing(false, DEAF);
      }
      nextCheck = setTimeout(() => void check(), probeInterval);
      nextCheck.unref();
    })().finally(() => (checking = undefined));
    return checking;
  }

  const onNotification = (msg: pg.Notification) => {
    if (!msg.payload) return;
    if (msg.channel === PROBE_CHANNEL) return probe.heard(msg.payload);
    if (msg.channel === ACCESS_CHANNEL) {
      for (const fn of [...accessFns]) {
        try {
          fn(msg.payload);
        } catch (err) {
          opts.log.error({ err }, 'an access-change callback failed');
        }
      }
      return;
    }
    if (msg.channel !== EVENTS_CHANNEL) return;
    const colon = msg.payload.indexOf(':');
    wakeProject(msg.payload.slice(0, colon), msg.payload.slice(colon + 1));
  };

  async function connect(): Promise<void> {
    const c = new pg.Client({
      connectionString: opts.url,
      application_name: 'baton-listener',
      // A half-open TCP connection must not leave waiters deaf forever.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    c.on('notification', onNotification);
    // Both fire on a lost connection; `lost` acts once per client.
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${EVENTS_CHANNEL}; LISTEN ${ACCESS_CHANNEL}; LISTEN ${PROBE_CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    failures = 0;
  }

  function lost(c: pg.Client, err?: Error): void {
    if (client !== c) return;
    client = undefined;
    c.end().catch(() => {});
    if (closed) return;
    opts.log.warn({ err }, 'ledger listener connection lost; reconnecting');
    setHearing(false, LOST);
    schedule();
  }

  function schedule(): void {
    const delay = Math.min(maxDelay, minDelay * 2 ** failures);
    failures++;
    // Jitter, so many processes do not reconnect in lockstep after a database restart.
    retry = setTimeout(reconnect, delay / 2 + Math.random() * (delay / 2));
    retry.unref();
  }

  async function reconnect(): Promise<void> {
    retry = undefined;
    if (closed) return;
    try {
      await connect();
    } catch (err) {
      if (closed) return;
      opts.log.warn({ err, attempt: failures }, 'ledger listener could not reconnect');
      schedule();
      return;
    }
    if (client) {
      opts.log.info('ledger listener reconnected');
      broadcast({ kind: 'resync' });
      void check();
    }
  }

  return {
    start: async () => {
      await connect();
      await check();
    },
    subscribe(projectId, fn) {
      if (closed) {
        queueMicrotask(() => deliver(fn, { kind: 'closed' }));
        return () => {};
      }
      let set = subscribers.get(projectId);
      if (!set) subscribers.set(projectId, (set = new Set()));
      set.add(fn);
      return () => {
        const s = subscribers.get(projectId);
        if (!s?.delete(fn)) return;
        if (s.size === 0) subscribers.delete(projectId);
      };
    },
    subscriberCount(projectId) {
      if (projectId !== undefined) return subscribers.get(projectId)?.size ?? 0;
      let n = 0;
      for (const s of subscribers.values()) n += s.size;
      return n;
    },
    get connected() {
      return client !== undefined;
    },
    get hearing() {
      return hearing;
    },
    get problem() {
      return problem;
    },
    onHearingChange(fn) {
      hearingFns.add(fn);
      return () => hearingFns.delete(fn);
    },
    onAccessChange(fn) {
      accessFns.add(fn);
      return () => accessFns.delete(fn);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (retry) clearTimeout(retry);
      clearTimeout(nextCheck);
      probe.cancel();
      setHearing(false, 'the ledger listener is closed');
      broadcast({ kind: 'closed' });
      subscribers.clear();
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}

export type WatchOutcome = 'woken' | 'timeout' | 'closed' | 'aborted';

export interface ProjectWatch {
  /**
   * Waits for the next wake-up of the project. One that arrived since the watch began (or since
   * the previous next()) counts, so nothing committed between a read and the wait is missed.
   */
  next(timeoutMs: number, signal?: AbortSignal): Promise<WatchOutcome>;
  close(): void;
}

/** Start watching before the read whose emptiness you will wait on, then call next(). */
export function watchProject(listener: LedgerListener, projectId: string): ProjectWatch {
  let pending: 'woken' | 'closed' | undefined;
  let settle: ((outcome: WatchOutcome) => void) | undefined;
  const unsubscribe = listener.subscribe(projectId, (wake) => {
    const outcome = wake.kind === 'closed' ? 'closed' : 'woken';
    // 'closed' is final: it answers this wait and every later one.
    if (outcome === 'closed' || !settle) pending = outcome;
    settle?.(outcome);
  });
  return {
    next(timeoutMs, signal) {
      if (pending) {
        const outcome = pending;
        if (outcome === 'woken') pending = undefined;
        return Promise.resolve(outcome);
      }
      if (signal?.aborted) return Promise.resolve('aborted');
      return new Promise<WatchOutcome>((resolve) => {
        const finish = (outcome: WatchOutcome) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          settle = undefined;
          resolve(outcome);
        };
        const onAbort = () => finish('aborted');
        const timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
        signal?.addEventListener('abort', onAbort, { once: true });
        settle = finish;
      });
    },
    close: unsubscribe,
  };
}
