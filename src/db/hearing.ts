import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import { ledgerHeads, sendNotification } from './ledger.js';
import type { Executor } from './pool.js';

// Whether the ledger listener hears, and what stands in for it when it does not. LISTEN through
// a transaction-mode pooler succeeds and then hears nothing: the server session it ran in goes
// back to the pooler after the statement. So the listener proves itself (Probe): it sends a
// notification through the pool, the way every append's wake-up travels, and expects it back.
// While it does not hear (no probe came back, or its connection is lost), a LedgerPoller reads
// the ledger heads of the projects someone waits on about once a second, and a head that moved
// wakes that project's subscribers as a notification would have.

export const PROBE_CHANNEL = 'baton_probe';

export type ProbeOutcome = 'heard' | 'silent' | 'unsent';

export class Probe {
  private readonly id = randomBytes(6).toString('hex');
  private sent = 0;
  private waiting: { payload: string; settle: (o: ProbeOutcome) => void } | undefined;

  constructor(
    private readonly db: Executor,
    private readonly timeoutMs: number,
  ) {}

  /** Sends a probe through the pool and waits for the listener to pass it back to heard(). */
  async run(): Promise<ProbeOutcome> {
    this.waiting?.settle('silent');
    const payload = `${this.id}:${++this.sent}`;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    let resolve: (o: ProbeOutcome) => void = () => {};
    const outcome = new Promise<ProbeOutcome>((r) => (resolve = r));
    const settle = (o: ProbeOutcome) => {
      done = true;
      clearTimeout(timer);
      if (this.waiting?.payload === payload) this.waiting = undefined;
      resolve(o);
    };
    this.waiting = { payload, settle };
    try {
      await sendNotification(this.db, PROBE_CHANNEL, payload);
    } catch {
      // A probe the database refused says nothing about the listener (the database is away).
      settle('unsent');
      return outcome;
    }
    // The clock starts once the probe is committed: a busy pool is not deafness.
    if (!done) timer = setTimeout(() => settle('silent'), this.timeoutMs);
    return outcome;
  }

  /** A notification on PROBE_CHANNEL reached the listener (every process's probes do). */
  heard(payload: string): void {
    if (this.waiting?.payload === payload) this.waiting.settle('heard');
  }

  cancel(): void {
    this.waiting?.settle('silent');
  }
}

export interface PollerOptions {
  db: Executor;
  log: Logger;
  intervalMs: number;
  /** The projects someone waits on now. */
  projects(): Iterable<string>;
  /** A project whose ledger head moved (or is seen for the first time) since the last poll. */
  wake(projectId: string, seq: string): void;
}

export class LedgerPoller {
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  /** The head each waited-on project had at the last poll. */
  private readonly seen = new Map<string, string>();

  constructor(private readonly opts: PollerOptions) {}

  /**
   * Starts polling, at once. Heads are forgotten first, so the first poll wakes every project:
   * whatever was committed while the listener was not known to be deaf is read then.
   */
  start(): void {
    if (this.timer) return;
    this.seen.clear();
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs);
    this.timer.unref();
    void this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const projects = new Set(this.opts.projects());
      for (const p of [...this.seen.keys()]) if (!projects.has(p)) this.seen.delete(p);
      if (projects.size === 0) return;
      const heads = await ledgerHeads(this.opts.db, [...projects]);
      if (!this.timer) return;
      // A project new since the last poll is woken too: its waiter may have read before a
      // commit that this poll is the first to see.
      for (const p of projects) {
        const seq = heads.get(p) ?? '0';
        if (this.seen.get(p) === seq) continue;
        this.seen.set(p, seq);
        this.opts.wake(p, seq);
      }
    } catch (err) {
      this.opts.log.debug({ err }, 'could not poll the ledger; trying again');
    } finally {
      this.polling = false;
    }
  }
}
