import type { Logger } from '../log.js';
import { LegacyLink } from './legacy.js';
import type { Link } from './link.js';
import { ModernLink } from './modern.js';
import {
  describe,
  LinkFailed,
  LinkGone,
  RemoteRefused,
  RemoteRpcError,
  RemoteUnavailable,
} from './wire.js';

export { RemoteRefused, RemoteRpcError, RemoteUnavailable };

// The bridge's side of the remote Baton: a link in the newest era of MCP the server offers (the
// modern one when it answers server/discover, else a 2025-era session), its push stream held
// open, and requests sent on it. When the link fails, it reconnects with exponential backoff and
// jitter, in the background, asking again which era the server offers; a request made meanwhile
// also tries once, so calls work again the moment the server is back.

export interface RemoteOptions {
  url: URL;
  token: string;
  log: Logger;
  clientInfo: { name: string; version: string };
  /** A notification for the stdio client (a channel push, in either era). */
  onNotification(method: string, params: unknown): void;
  /** Called each time the link (and its push stream) is established. */
  onUp?(): void;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A stream silent this long is presumed dead; the server writes a heartbeat every 20 s. */
  idleMs?: number;
}

/** How long a request waits for the link to come up before answering unavailable. */
const PROBE_MS = 3_000;

export class Remote {
  private readonly modern: ModernLink;
  private readonly legacy: LegacyLink;
  private link: Link | undefined;
  private connecting: Promise<boolean> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private up = false;
  private reason = 'not connected yet';
  private refused: string | undefined;

  constructor(private readonly opts: RemoteOptions) {
    const linkOptions = {
      url: opts.url,
      token: opts.token,
      log: opts.log,
      clientInfo: opts.clientInfo,
      idleMs: opts.idleMs ?? 60_000,
      onNotification: opts.onNotification,
      onStreamEnd: (err: Error) => this.down(err),
    };
    this.modern = new ModernLink(linkOptions);
    this.legacy = new LegacyLink(linkOptions);
  }

  get connected(): boolean {
    return this.up;
  }

  start(): void {
    void this.connect();
  }

  /** Establishes the link unless it is up; resolves whether it is. */
  connect(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.up) return Promise.resolve(true);
    this.connecting ??= this.establish().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** One request on the link; throws RemoteUnavailable, RemoteRefused or RemoteRpcError. */
  async request(method: string, params: unknown, signal?: AbortSignal): Promise<unknown> {
    if (this.closed) throw new RemoteUnavailable('the bridge is shutting down');
    if (!this.up && !(await this.probe())) throw this.failure();
    try {
      return await (this.link as Link).request(method, params, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (err instanceof LinkGone) {
        // Refused before it ran, so it is safe to send again on a new link.
        this.drop(err.message);
        if (await this.connect()) return (this.link as Link).request(method, params, signal);
        throw this.failure();
      }
      if (err instanceof LinkFailed) {
        this.down(err);
        throw new RemoteUnavailable(this.reason);
      }
      if (err instanceof RemoteRefused) this.refused = err.message;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.up = false;
    await Promise.all([this.modern.close(), this.legacy.close()]);
  }

  private failure(): Error {
    return this.refused ? new RemoteRefused(this.refused) : new RemoteUnavailable(this.reason);
  }

  private async probe(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, PROBE_MS, false)));
    try {
      return await Promise.race([this.connect(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async establish(): Promise<boolean> {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    let link: Link;
    try {
      link = (await this.modern.offered()) ? this.modern : this.legacy;
      if (this.link !== link) {
        this.link?.drop();
        this.link = link;
      }
      await link.open();
    } catch (err) {
      if (err instanceof RemoteRefused) this.refused = err.message;
      this.down(err);
      return false;
    }
    if (this.closed) {
      link.drop();
      return false;
    }
    this.up = true;
    this.failures = 0;
    this.refused = undefined;
    this.opts.log.info({ url: this.opts.url.href, era: link.era }, 'connected to Baton');
    this.opts.onUp?.();
    return true;
  }

  /** Forgets the link's stream (the server no longer knows what it stood on). */
  private drop(reason: string): void {
    this.up = false;
    this.reason = reason;
    this.link?.drop();
  }

  private down(err: unknown): void {
    const wasUp = this.up;
    this.up = false;
    this.link?.drop();
    this.reason =
      err instanceof RemoteRefused
        ? err.message
        : `Baton at ${this.opts.url.origin} is unreachable (${describe(err)}); retry shortly`;
    if (this.closed) return;
    if (wasUp || this.failures === 0)
      this.opts.log.warn({ reason: describe(err) }, 'Baton link lost');
    this.schedule();
  }

  private schedule(): void {
    if (this.retry || this.closed) return;
    const min = this.opts.minDelayMs ?? 250;
    const max = this.opts.maxDelayMs ?? 30_000;
    const base = Math.min(max, min * 2 ** this.failures++);
    // Full jitter on the upper half, so many bridges do not reconnect in lockstep.
    const delay = base / 2 + Math.random() * (base / 2);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, delay);
    this.retry.unref();
  }
}
