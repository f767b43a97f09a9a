import type { Logger } from '../log.js';
import {
  CHANNEL_CONTENT_CHARS,
  leaseLostChannel,
  postChannel,
  RESOURCE_URI,
  taskAssignedChannel,
  type ChannelParams,
} from '../mcp/protocol.js';
import { describe } from './wire.js';

// Channel events from the modern era's resource updates. A 2026-07-28 server says only *that* a
// view of the caller changed; the bridge reads what changed and re-emits it as the same
// notifications/claude/channel a 2025-era session pushes:
// - baton://inbox: the bridge reads the resource (posts to me not yet acked, newest first),
//   which records their delivery as a push does, and emits each post it has not emitted before.
// - baton://leases and baton://tasks: a view of what I hold or own cannot say what I lost or who
//   gave it to me, so the bridge reads the ledger after its last position instead
//   (query_events: lease_expired for me; task_assigned and task_created with me as owner, by
//   someone else), as the 2025-era stream does, and resumes from there after a reconnection.
// Updates that arrive while a read is running make one more read afterwards, not one each.

/** Posts remembered as emitted; refreshed by every read, so a post still unacked stays known. */
const MAX_REMEMBERED = 1_000;
/** Events read per page, and pages per catch-up (older ones are skipped, and logged). */
const EVENT_PAGE = 1_000;
const MAX_PAGES = 10;
/** The body prefix a post's channel text is cut from, as the server's push reads it. */
const EXCERPT_CHARS = 400;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/** A request on the modern link, outside any profile (?tools=core does not apply). */
export type Call = (method: string, params: Record<string, unknown>) => Promise<unknown>;

interface PostView {
  post_id: number;
  from: string;
  to_actor?: string;
  to_lane?: string;
  broadcast?: boolean;
  subject?: string;
  body: string;
  ref?: string;
  tag?: string;
  action?: string;
  data?: Record<string, unknown>;
}

interface EventView {
  seq: number;
  type: string;
  actor: string;
  task_id?: number;
  lease_id?: number;
  ref?: string;
  data?: Record<string, unknown>;
}

type Kind = 'lease_expired' | 'task_assigned' | 'task_created';

export class ModernChannel {
  private me: string | undefined;
  /** The ledger position read up to, per event type. */
  private after: Record<Kind, number> | undefined;
  private readonly emitted = new Set<string>();
  private readonly reads: ReadonlyMap<string, Coalesced>;
  private paused = true;

  constructor(
    private readonly call: Call,
    private readonly emit: (params: ChannelParams) => void,
    private readonly log: Logger,
  ) {
    const read = (name: string, fn: () => Promise<void>) =>
      new Coalesced(fn, (err, delay) =>
        this.log.warn({ err: describe(err), retryMs: delay }, `could not read ${name}`),
      );
    this.reads = new Map([
      [RESOURCE_URI.inbox, read(RESOURCE_URI.inbox, () => this.readInbox())],
      [RESOURCE_URI.leases, read('lost leases', () => this.readLeases())],
      [RESOURCE_URI.tasks, read('task assignments', () => this.readTasks())],
    ]);
  }

  /** The URIs to subscribe to. */
  get uris(): string[] {
    return [...this.reads.keys()];
  }

  /**
   * Before the first listen stream: who I am, and where the ledger is, so that what happens from
   * then on is pushed and what happened before is not (as a new 2025-era stream does).
   */
  async prepare(): Promise<void> {
    if (this.me === undefined) {
      this.me = String((await this.tool('whoami', {})).actor);
    }
    if (this.after === undefined) {
      const head = (await this.tool('query_events', { limit: 1 })).events as EventView[];
      const seq = head[0]?.seq ?? 0;
      this.after = { lease_expired: seq, task_assigned: seq, task_created: seq };
    }
  }

  /** A resource changed: read it (again). */
  updated(uri: string): void {
    if (!this.paused) this.reads.get(uri)?.kick();
  }

  /** A listen stream opened: read everything, for what happened while there was none. */
  catchUp(): void {
    this.paused = false;
    for (const read of this.reads.values()) read.resume();
  }

  /** No stream now (the link is down, or speaks the other era): no reads, no retries. */
  pause(): void {
    this.paused = true;
    for (const read of this.reads.values()) read.pause();
  }

  private async readInbox(): Promise<void> {
    const read = (await this.call('resources/read', { uri: RESOURCE_URI.inbox })) as {
      contents?: { text?: unknown }[];
    };
    const text = read.contents?.[0]?.text;
    if (typeof text !== 'string') throw new Error(`${RESOURCE_URI.inbox} came without a text`);
    const posts = (JSON.parse(text) as { posts: PostView[] }).posts;
    // Newest first in the view; pushed in the order they were posted.
    for (const p of [...posts].reverse()) {
      const id = String(p.post_id);
      const known = this.emitted.delete(id);
      this.emitted.add(id);
      if (!known) this.emitPost(p);
    }
    for (const id of this.emitted) {
      if (this.emitted.size <= MAX_REMEMBERED) break;
      this.emitted.delete(id);
    }
  }

  private emitPost(p: PostView): void {
    const chars = [...p.body];
    this.emit(
      postChannel({
        post_id: String(p.post_id),
        from: p.from,
        to: p.to_lane !== undefined ? { lane: p.to_lane } : p.broadcast ? 'everyone' : 'you',
        subject: p.subject,
        excerpt: chars.slice(0, EXCERPT_CHARS).join(''),
        longer: chars.length > CHANNEL_CONTENT_CHARS,
        ref: p.ref,
        tag: p.tag,
        action: p.action,
        data: p.data ? JSON.stringify(p.data) : null,
      }),
    );
  }

  private async readLeases(): Promise<void> {
    const lost = await this.eventsAfter('lease_expired', { actor: this.me });
    for (const e of lost.events) {
      const d = e.data ?? {};
      this.emit(
        leaseLostChannel({
          lease_id: String(e.lease_id),
          surface: String(d.surface),
          taken_over_by: String(d.taken_over_by),
        }),
      );
    }
    lost.done();
  }

  private async readTasks(): Promise<void> {
    const assigned = await this.eventsAfter('task_assigned', {});
    const created = await this.eventsAfter('task_created', {});
    const mine = [...assigned.events, ...created.events]
      .filter((e) => e.data?.owner === this.me && e.actor !== this.me)
      .sort((a, b) => a.seq - b.seq);
    const titles = new Map<number | undefined, string | null>();
    for (const e of mine) {
      if (e.type === 'task_created') titles.set(e.task_id, String(e.data?.title));
      else if (!titles.has(e.task_id)) titles.set(e.task_id, await this.taskTitle(e.task_id));
    }
    for (const e of mine) {
      this.emit(
        taskAssignedChannel({
          task_id: String(e.task_id),
          from: e.actor,
          title: titles.get(e.task_id) ?? null,
          ref: e.ref,
        }),
      );
    }
    assigned.done();
    created.done();
  }

  /** The title of a task assigned after its creation (a title is never changed). */
  private async taskTitle(taskId: number | undefined): Promise<string | null> {
    if (taskId === undefined) return null;
    const got = await this.tool('task_get', { task_id: taskId });
    const title = (got?.task as { title?: unknown } | undefined)?.title;
    return typeof title === 'string' ? title : null;
  }

  /**
   * Events of one type after the position, oldest first; `done()` moves the position past them
   * once they have been emitted.
   */
  private async eventsAfter(type: Kind, filter: Record<string, unknown>) {
    if (!this.after) await this.prepare();
    const after = this.after as Record<Kind, number>;
    const from = after[type];
    const found: EventView[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const got = await this.tool('query_events', {
        ...filter,
        type,
        after_seq: from,
        limit: EVENT_PAGE,
        ...(cursor !== null ? { cursor } : {}),
      });
      found.push(...(got.events as EventView[]));
      cursor = typeof got.next_cursor === 'string' ? got.next_cursor : null;
      if (cursor === null) break;
    }
    if (cursor !== null) {
      this.log.warn({ type }, `more than ${MAX_PAGES * EVENT_PAGE} new events; older ones skipped`);
    }
    const newest = found[0]?.seq;
    return {
      events: found.reverse(),
      done: () => {
        if (newest !== undefined) after[type] = Math.max(after[type], newest);
      },
    };
  }

  /** A tool's structured result; a tool error is thrown. */
  private async tool(
    name: string,
    args: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const r = (await this.call('tools/call', { name, arguments: args })) as {
      structuredContent?: Record<string, unknown>;
      isError?: boolean;
    };
    const body = r.structuredContent ?? {};
    if (r.isError) {
      const error = body.error as { code?: unknown; message?: unknown } | undefined;
      throw new Error(`${name}: ${String(error?.code)}: ${String(error?.message)}`);
    }
    return body;
  }
}

/** Runs `fn` now, or once more after the run in progress; retries a failure with backoff. */
class Coalesced {
  private running = false;
  private again = false;
  private delay = 0;
  private retry: NodeJS.Timeout | undefined;
  private paused = true;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly failed: (err: unknown, retryMs: number) => void,
  ) {}

  kick(): void {
    if (this.paused) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retry);
    this.retry = undefined;
    void this.run();
  }

  /** Runs again, from a clean backoff. */
  resume(): void {
    this.paused = false;
    this.delay = 0;
    this.kick();
  }

  pause(): void {
    this.paused = true;
    clearTimeout(this.retry);
    this.retry = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      do {
        this.again = false;
        await this.fn();
        this.delay = 0;
      } while (this.again && !this.paused);
    } catch (err) {
      if (!this.paused) {
        this.delay = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.delay * 2));
        this.failed(err, this.delay);
        this.retry = setTimeout(() => this.kick(), this.delay);
        this.retry.unref();
      }
    } finally {
      this.running = false;
    }
  }
}
