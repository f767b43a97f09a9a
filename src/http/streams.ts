import {
  ACCESS_TYPES,
  feedAfter,
  markPushed,
  stillGranted,
  type FeedRow,
  type StreamGrant,
} from '../db/push.js';
import type { LedgerListener, Wake } from '../db/notify.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SseResponse } from './sse.js';

// The live streams open on this process: MCP GET streams (push, src/mcp/push.ts), modern MCP
// subscriptions/listen streams (src/mcp/listen.ts) and ledger subscriptions (GET
// /api/v1/events, events.ts). A stream is a socket, so it lives in memory;
// a session without one costs nothing here.
//
// Streams are grouped by project. A group listens for the project's ledger wake-ups, and on each
// reads the new events once, with one query, for all its streams; each stream then picks what
// concerns it. Every stream message carries the ledger seq of its event as its SSE id, so a
// client that reconnects with Last-Event-ID, to this process or any other, resumes exactly.
//
// Joining is the delicate part. A new stream first catches up on its own (a backlog, or a replay
// after Last-Event-ID) up to some head, and only goes live once the group is not reading and has
// examined no further than that head; otherwise it catches up again. Live streams take from the
// group only events after their own position, so nothing is sent twice and nothing is skipped.

export interface Outgoing {
  /** The ledger seq of the event; omitted for pushes outside the seq order (a backlog). */
  seq?: number;
  event?: string;
  data: string;
  /** The event's commit time, for the push-lag histogram (live pushes only). */
  at?: Date;
  /** A post this message pushes to a recipient: its delivery is recorded before it is sent. */
  delivers?: { participationId: string; postId: string };
  /** What kind of push this is, for metrics. */
  kind: string;
}

export interface LiveStream {
  readonly kind: 'mcp' | 'listen' | 'events';
  readonly grant: StreamGrant;
  readonly participationId: string;
  /** Every event type (a ledger subscription), or only those that can become a push. */
  readonly allTypes: boolean;
  readonly sse: SseResponse;
  /** The last seq this stream has covered: sent, or examined and found not to concern it. */
  from: number;
  live: boolean;
  /** Sends what precedes going live and moves `from` to a head read on the way. */
  catchUp(io: StreamIo): Promise<void>;
  /** The messages these rows (every one after `from`) make for this stream. */
  select(rows: readonly FeedRow[]): Outgoing[];
  /** Its last words when the server shuts down, if the protocol has any. */
  farewell?(): void;
}

/**
 * Sends what `read` finds after `stream.from`, a page of `limit` at a time, until a page is not
 * full; `from` ends at the last row sent or at the head `read` saw. Assigned, not maxed: a
 * position beyond the head (a stale or foreign Last-Event-ID) comes back to the head, so later
 * events are not skipped.
 */
export async function sendPages(
  io: StreamIo,
  stream: LiveStream,
  limit: number,
  read: (from: number) => Promise<{ rows: readonly FeedRow[]; head: number }>,
): Promise<void> {
  for (;;) {
    const page = await read(stream.from);
    await io.send(stream, stream.select(page.rows), false);
    const full = page.rows.length === limit;
    stream.from = full ? Number(page.rows.at(-1)?.seq) : page.head;
    if (!full) return;
  }
}

/** Why a stream was not admitted, for each edge to answer in its own form. */
export interface StreamRefusal {
  status: 429 | 503;
  code: 'rate_limited' | 'unavailable';
  message: string;
  retryAfter: number;
}

/** The refusal for a stream `admit` turned away; `advice` is the edge's next step for each case. */
export function streamRefusal(
  admitted: 'full' | 'closing',
  advice: { full: string; closing: string },
): StreamRefusal {
  return admitted === 'full'
    ? {
        status: 429,
        code: 'rate_limited',
        message: `this identity already has ${MAX_STREAMS_PER_PARTICIPATION} streams open here; ${advice.full}`,
        retryAfter: 10,
      }
    : {
        status: 503,
        code: 'unavailable',
        message: `this server is shutting down; ${advice.closing}`,
        retryAfter: 1,
      };
}

export interface StreamIo {
  db: Db;
  send(stream: LiveStream, out: readonly Outgoing[], live: boolean): Promise<void>;
}

interface Group {
  projectId: string;
  streams: Set<LiveStream>;
  /** The seq up to which the group has read the ledger for its live streams. */
  head: number | undefined;
  dirty: boolean;
  running: Promise<void> | undefined;
  retry: NodeJS.Timeout | undefined;
  failures: number;
  closed: boolean;
  unsubscribe: () => void;
}

export interface StreamHubOptions {
  db: Db;
  listener: LedgerListener;
  log: Logger;
  metrics?: Metrics;
  /** Comment heartbeat and grant re-check interval. */
  heartbeatMs?: number;
}

const PAGE = 500;
/** Open streams per participation on one process; sub-agents sharing a token each get one. */
export const MAX_STREAMS_PER_PARTICIPATION = 32;

export class StreamHub {
  private readonly groups = new Map<string, Group>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly io: StreamIo;

  constructor(private readonly opts: StreamHubOptions) {
    this.io = { db: opts.db, send: (s, out, live) => this.send(s, out, live) };
  }

  /** Streams open here, of a kind, or of one MCP session. */
  count(kind?: LiveStream['kind'], sessionId?: string): number {
    let n = 0;
    for (const g of this.groups.values()) {
      for (const s of g.streams) {
        if ((!kind || s.kind === kind) && (!sessionId || s.grant.sessionId === sessionId)) n++;
      }
    }
    return n;
  }

  /**
   * Makes room for a new stream before its response starts: a session has one stream (a
   * reconnect replaces a stream its client has given up on), and a participation at most
   * MAX_STREAMS_PER_PARTICIPATION. Says why a stream cannot open now.
   */
  admit(grant: StreamGrant, participationId: string): 'ok' | 'full' | 'closing' {
    if (this.closed) return 'closing';
    const g = this.groups.get(grant.projectId);
    if (!g) return 'ok';
    let mine = 0;
    for (const s of [...g.streams]) {
      if (grant.sessionId !== null && s.grant.sessionId === grant.sessionId) s.sse.end();
      else if (s.participationId === participationId) mine++;
    }
    return mine < MAX_STREAMS_PER_PARTICIPATION ? 'ok' : 'full';
  }

  /** Registers the stream, catches it up and makes it live; it ends on failure or shutdown. */
  async open(stream: LiveStream): Promise<void> {
    if (this.closed) return stream.sse.end();
    const g = this.groupOf(stream.grant.projectId);
    g.streams.add(stream);
    this.opts.metrics?.streamsOpen.inc({ kind: stream.kind });
    stream.sse.onClose(() => this.remove(g, stream));
    this.startHeartbeat();
    // A failed read (the database is away) is retried with backoff while the client waits on
    // an open stream, rather than cut: clients give up on a stream that keeps failing to open.
    for (let failures = 0, caughtUp = false; !stream.sse.closed;) {
      try {
        if (!caughtUp) await stream.catchUp(this.io);
        caughtUp = true;
        while (g.running) await g.running;
        if (stream.sse.closed) return;
        if (g.head === undefined || g.head <= stream.from) {
          g.head ??= stream.from;
          stream.live = true;
          return;
        }
        caughtUp = false; // the group has read further meanwhile: catch up again
      } catch (err) {
        const delay = Math.min(5_000, 100 * 2 ** failures++);
        this.opts.log.warn({ err, delay }, 'a stream could not catch up; retrying');
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  /** Ends the streams of an MCP session that was just ended (DELETE /mcp). */
  endSession(projectId: string, sessionId: string): void {
    for (const s of [...(this.groups.get(projectId)?.streams ?? [])]) {
      if (s.grant.sessionId === sessionId) s.sse.end();
    }
  }

  /** Ends every stream; clients reconnect elsewhere and resume. */
  close(): void {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const g of [...this.groups.values()]) {
      for (const s of [...g.streams]) {
        s.farewell?.();
        s.sse.end();
      }
    }
  }

  /**
   * Writes a keep-alive comment on every stream, then ends those whose token was revoked or
   * expired, or whose session ended, since they opened (one query for the whole process).
   */
  async revalidate(): Promise<void> {
    const streams = [...this.groups.values()].flatMap((g) => [...g.streams]);
    for (const s of streams) s.sse.comment('keep-alive');
    try {
      await this.endUngranted(streams);
    } catch (err) {
      this.opts.log.debug({ err }, 'could not re-check stream grants; keeping them open');
    }
  }

  /** Ends the streams whose token was revoked or expired, or whose session ended. */
  private async endUngranted(streams: readonly LiveStream[]): Promise<void> {
    if (streams.length === 0) return;
    const granted = await stillGranted(
      this.opts.db,
      streams.map((s) => s.grant),
    );
    streams.forEach((s, i) => {
      if (!granted.has(i)) s.sse.end();
    });
  }

  private groupOf(projectId: string): Group {
    let g = this.groups.get(projectId);
    if (g) return g;
    const group: Group = {
      projectId,
      streams: new Set(),
      head: undefined,
      dirty: false,
      running: undefined,
      retry: undefined,
      failures: 0,
      closed: false,
      unsubscribe: () => {},
    };
    group.unsubscribe = this.opts.listener.subscribe(projectId, (wake: Wake) => {
      // After a reconnect (resync) the group reads from where it was, which covers whatever
      // was committed while the listener was away.
      if (wake.kind === 'closed') for (const s of [...group.streams]) s.sse.end();
      else this.kick(group);
    });
    this.groups.set(projectId, group);
    g = group;
    return g;
  }

  private remove(g: Group, stream: LiveStream): void {
    if (!g.streams.delete(stream)) return;
    this.opts.metrics?.streamsOpen.dec({ kind: stream.kind });
    if (g.streams.size > 0) return;
    g.closed = true;
    g.unsubscribe();
    if (g.retry) clearTimeout(g.retry);
    if (this.groups.get(g.projectId) === g) this.groups.delete(g.projectId);
    if (this.groups.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  private kick(g: Group): void {
    g.dirty = true;
    if (g.running || g.retry || g.closed) return;
    g.running = this.drain(g).finally(() => {
      g.running = undefined;
      if (g.dirty) this.kick(g);
    });
  }

  private async drain(g: Group): Promise<void> {
    while (g.dirty && !g.closed) {
      g.dirty = false;
      let live = [...g.streams].filter((s) => s.live);
      if (live.length === 0) {
        // Nobody reads from the group's position; a stream going live sets it afresh.
        g.head = undefined;
        continue;
      }
      const from = g.head as number;
      try {
        const page = await feedAfter(this.opts.db, g.projectId, from, {
          watchers: [...new Set([...g.streams].map((s) => s.participationId))],
          allTypes: [...g.streams].some((s) => s.allTypes),
          limit: PAGE,
        });
        const covered = page.rows.length === PAGE ? Number(page.rows.at(-1)?.seq) : page.head;
        if (page.rows.some((r) => (ACCESS_TYPES as readonly string[]).includes(r.type))) {
          // A revocation is in this page: end the streams it took away before writing anything
          // to them, so no event after it reaches a revoked token, on any process.
          await this.endUngranted([...g.streams]);
          live = live.filter((s) => !s.sse.closed);
        }
        const batches = live.map((s) => {
          const rows = page.rows.filter((r) => Number(r.seq) > s.from);
          return [s, s.select(rows)] as const;
        });
        await this.record(
          g.projectId,
          batches.flatMap(([, out]) => out),
        );
        for (const [s, out] of batches) {
          this.write(s, out, true);
          s.from = Math.max(s.from, covered);
        }
        g.head = Math.max(from, covered);
        g.failures = 0;
        if (page.rows.length === PAGE) g.dirty = true;
      } catch (err) {
        // The database is away or busy: try again with backoff. A listener reconnect also
        // wakes the group, and nothing is lost meanwhile: the group still reads from `from`.
        g.dirty = true;
        const delay = Math.min(5_000, 100 * 2 ** g.failures++);
        this.opts.log.warn({ err, delay }, 'stream catch-up failed; retrying');
        g.retry = setTimeout(() => {
          g.retry = undefined;
          this.kick(g);
        }, delay);
        g.retry.unref();
        return;
      }
    }
  }

  private async send(stream: LiveStream, out: readonly Outgoing[], live: boolean): Promise<void> {
    await this.record(stream.grant.projectId, out);
    this.write(stream, out, live);
  }

  private async record(projectId: string, out: readonly Outgoing[]): Promise<void> {
    const posts = out.flatMap((o) => (o.delivers ? [o.delivers] : []));
    await markPushed(this.opts.db, projectId, posts);
  }

  private write(stream: LiveStream, out: readonly Outgoing[], live: boolean): void {
    const now = Date.now();
    for (const o of out) {
      if (!stream.sse.send({ id: o.seq, event: o.event, data: o.data })) return;
      if (o.seq !== undefined) stream.from = Math.max(stream.from, o.seq);
      this.opts.metrics?.observePush(o.kind, live && o.at ? (now - o.at.getTime()) / 1000 : null);
    }
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      this.revalidate().catch((err: unknown) =>
        this.opts.log.warn({ err }, 'stream heartbeat failed'),
      );
    }, this.opts.heartbeatMs ?? 20_000);
    this.heartbeat.unref();
  }
}
