import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import { RPC_ERROR } from '../mcp/protocol.js';
import { sseMessages } from './sse.js';

// The bridge's side of the remote Baton: one MCP session over Streamable HTTP, its GET stream
// held open for pushes, and requests POSTed on it. When the link fails, it reconnects with
// exponential backoff and jitter, in the background; a request made meanwhile also tries once,
// so calls work again the moment the server is back. The stream resumes with Last-Event-ID, on
// the same session when the server still knows it, or on a new one: event ids are ledger
// positions of the participation, not of the session, so nothing is lost either way.

/** The remote cannot be reached now; the caller answers `unavailable`. */
export class RemoteUnavailable extends Error {}
/** The remote refused the token; retrying will not help. */
export class RemoteRefused extends Error {}
/** The remote answered with a JSON-RPC error, to be passed on as one. */
export class RemoteRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}
class SessionGone extends Error {}
class LinkFailed extends Error {}

export interface RemoteOptions {
  url: URL;
  token: string;
  log: Logger;
  clientInfo: { name: string; version: string };
  /** A notification the server sent on the stream. */
  onNotification(method: string, params: unknown): void;
  /** Called each time the link (session and stream) is established. */
  onUp?(): void;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A stream silent this long is presumed dead; the server writes a heartbeat every 20 s. */
  idleMs?: number;
}

/** How long a request waits for the link to come up before answering unavailable. */
const PROBE_MS = 3_000;
/** Beyond the longest long-poll (60 s), with room for a slow database. */
const REQUEST_TIMEOUT_MS = 120_000;

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
}

export class Remote {
  private session: string | undefined;
  private protocolVersion = LATEST_PROTOCOL_VERSION;
  private lastEventId: string | undefined;
  private stream: AbortController | undefined;
  private connecting: Promise<boolean> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private nextId = 1;
  private closed = false;
  private up = false;
  private reason = 'not connected yet';
  private refused: string | undefined;

  constructor(private readonly opts: RemoteOptions) {}

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

  /** One request on the session; throws RemoteUnavailable, RemoteRefused or RemoteRpcError. */
  async request(method: string, params: unknown, signal?: AbortSignal): Promise<unknown> {
    if (this.closed) throw new RemoteUnavailable('the bridge is shutting down');
    if (!this.up && !(await this.probe())) throw this.failure();
    try {
      return await this.call(method, params, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (err instanceof SessionGone) {
        // The server forgot the session (it ended, or the database was replaced); the request
        // was refused before it ran, so it is safe to send again on a new one.
        this.drop('the session ended');
        if (await this.connect()) return this.call(method, params, signal);
        throw this.failure();
      }
      if (err instanceof LinkFailed) {
        this.down(err);
        throw new RemoteUnavailable(this.reason);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.stream?.abort();
    this.stream = undefined;
    this.up = false;
    if (!this.session) return;
    await fetch(this.opts.url, {
      method: 'DELETE',
      headers: this.headers(),
      signal: AbortSignal.timeout(1_000),
    })
      .then((r) => r.body?.cancel())
      .catch(() => {});
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
    try {
      if (!this.session) await this.initialize();
      try {
        await this.openStream();
      } catch (err) {
        if (!(err instanceof SessionGone)) throw err;
        this.session = undefined;
        await this.initialize();
        await this.openStream();
      }
    } catch (err) {
      this.down(err);
      return false;
    }
    if (this.closed) return false;
    this.up = true;
    this.failures = 0;
    this.refused = undefined;
    this.opts.log.info({ url: this.opts.url.href }, 'connected to Baton');
    this.opts.onUp?.();
    return true;
  }

  private async initialize(): Promise<void> {
    const reply = await this.send({
      jsonrpc: '2.0',
      id: this.nextId++,
      method: 'initialize',
      params: {
        protocolVersion: LATEST_PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: this.opts.clientInfo,
      },
    });
    const result = rpcResult(reply.body) as { protocolVersion?: unknown };
    const session = reply.headers.get('mcp-session-id');
    if (!session) throw new LinkFailed('the server answered initialize without a session id');
    this.session = session;
    if (typeof result.protocolVersion === 'string') this.protocolVersion = result.protocolVersion;
    await this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  private async openStream(): Promise<void> {
    const controller = new AbortController();
    let res: Response;
    try {
      res = await fetch(this.opts.url, {
        method: 'GET',
        headers: this.headers({
          accept: 'text/event-stream',
          ...(this.lastEventId !== undefined ? { 'last-event-id': this.lastEventId } : {}),
        }),
        signal: controller.signal,
      });
    } catch (err) {
      throw new LinkFailed(describe(err));
    }
    const type = res.headers.get('content-type') ?? '';
    if (res.status === 200 && type.startsWith('text/event-stream') && res.body) {
      if (this.closed) return controller.abort();
      this.stream?.abort();
      this.stream = controller;
      void this.read(res.body as unknown as AsyncIterable<Uint8Array>, controller);
      return;
    }
    const body = await res.text().catch(() => '');
    if (res.status === 404) throw new SessionGone();
    throw (
      this.refusal(res.status, body) ??
      new LinkFailed(`the stream was refused (HTTP ${res.status})`)
    );
  }

  private async read(body: AsyncIterable<Uint8Array>, controller: AbortController): Promise<void> {
    const idleMs = this.opts.idleMs ?? 60_000;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), idleMs);
      idle.unref();
    };
    arm();
    try {
      for await (const m of sseMessages(body, arm)) {
        if (m.id !== undefined) this.lastEventId = m.id;
        if (m.data === undefined || (m.event !== undefined && m.event !== 'message')) continue;
        let message: { method?: unknown; id?: unknown; params?: unknown };
        try {
          message = JSON.parse(m.data) as typeof message;
        } catch {
          this.opts.log.warn('ignored a stream message that is not JSON');
          continue;
        }
        if (typeof message.method === 'string' && message.id === undefined) {
          this.opts.onNotification(message.method, message.params);
        }
      }
    } catch {
      // aborted, or the connection broke: either way the stream is over
    } finally {
      clearTimeout(idle);
    }
    if (this.stream !== controller) return; // replaced, or closed on purpose
    this.down(new LinkFailed('the event stream ended'));
  }

  private async call(method: string, params: unknown, signal?: AbortSignal): Promise<unknown> {
    const reply = await this.send({ jsonrpc: '2.0', id: this.nextId++, method, params }, signal);
    return rpcResult(reply.body);
  }

  /** POSTs one message on the session. */
  private async send(message: Record<string, unknown>, signal?: AbortSignal): Promise<Reply> {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    let res: Response;
    try {
      res = await fetch(this.opts.url, {
        method: 'POST',
        headers: this.headers({
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        }),
        body: JSON.stringify(message),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new LinkFailed(describe(err));
    }
    const type = res.headers.get('content-type') ?? '';
    let body: unknown;
    try {
      if (res.status === 202 || res.status === 204) await res.body?.cancel();
      else if (type.startsWith('text/event-stream') && res.body) {
        body = await replyFromStream(res.body as unknown as AsyncIterable<Uint8Array>, message.id);
      } else {
        const text = await res.text();
        body = text === '' ? undefined : JSON.parse(text);
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new LinkFailed(`the answer could not be read: ${describe(err)}`);
    }
    if (res.ok) return { status: res.status, headers: res.headers, body };
    if (res.status === 404 && this.session && message.method !== 'initialize') {
      throw new SessionGone();
    }
    const refusal = this.refusal(res.status, body);
    if (refusal) throw refusal;
    const text = errorMessage(body);
    if (res.status === 503 || res.status === 429) {
      // The server is there but cannot serve now (its database is away, or a limit).
      throw new RemoteUnavailable(text ?? `the Baton server answered HTTP ${res.status}`);
    }
    if (isRpcError(body)) throw new RemoteRpcError(body.error.code, body.error.message);
    throw new RemoteRpcError(
      RPC_ERROR.internalError,
      text ?? `the Baton server answered HTTP ${res.status}`,
    );
  }

  private refusal(status: number, body: unknown): RemoteRefused | undefined {
    if (status !== 401 && status !== 403) return undefined;
    const text =
      errorMessage(typeof body === 'string' ? safeJson(body) : body) ?? 'the token was refused';
    this.refused = `the Baton server refused this bridge's token: ${text}`;
    return new RemoteRefused(this.refused);
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      authorization: `Bearer ${this.opts.token}`,
      ...(this.session
        ? { 'mcp-session-id': this.session, 'mcp-protocol-version': this.protocolVersion }
        : {}),
      ...extra,
    };
  }

  /** Forgets the session and stream (the server no longer knows them). */
  private drop(reason: string): void {
    this.session = undefined;
    this.up = false;
    this.reason = reason;
    this.stream?.abort();
    this.stream = undefined;
  }

  private down(err: unknown): void {
    const wasUp = this.up;
    this.up = false;
    this.stream?.abort();
    this.stream = undefined;
    if (err instanceof SessionGone) this.session = undefined;
    this.reason = `Baton at ${this.opts.url.origin} is unreachable (${describe(err)}); retry shortly`;
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

async function replyFromStream(body: AsyncIterable<Uint8Array>, id: unknown): Promise<unknown> {
  for await (const m of sseMessages(body)) {
    if (m.data === undefined) continue;
    const message = JSON.parse(m.data) as { id?: unknown };
    if (message.id === id && id !== undefined) return message;
  }
  throw new Error('the stream ended before the answer');
}

function rpcResult(body: unknown): unknown {
  if (isRpcError(body)) throw new RemoteRpcError(body.error.code, body.error.message);
  if (typeof body === 'object' && body !== null && 'result' in body) return body.result;
  throw new RemoteRpcError(
    RPC_ERROR.internalError,
    'the Baton server sent an answer that is not JSON-RPC',
  );
}

function isRpcError(body: unknown): body is { error: { code: number; message: string } } {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof e?.code === 'number' && typeof e.message === 'string';
}

function errorMessage(body: unknown): string | undefined {
  const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof message === 'string' ? message.slice(0, 500) : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  return err.message.split('\n')[0] ?? 'failed';
}
