import { HEADER, LEGACY_PROTOCOL_VERSIONS } from '../mcp/protocol.js';
import type { Link, LinkOptions } from './link.js';
import {
  failureOf,
  LinkFailed,
  LinkGone,
  openEventStream,
  post,
  refusalOf,
  rpcResult,
  type StreamSlot,
} from './wire.js';

// The 2025 era of MCP over Streamable HTTP: `initialize` opens a session, its GET stream
// carries the server's channel pushes, and requests are POSTed on the session. The stream
// resumes with Last-Event-ID, on the same session when the server still knows it, or on a new
// one: event ids are ledger positions of the participation, not of the session, so nothing is
// lost either way.

export class LegacyLink implements Link {
  private session: string | undefined;
  private protocolVersion: string = LEGACY_PROTOCOL_VERSIONS[0];
  private lastEventId: string | undefined;
  private readonly stream: StreamSlot = {};
  private nextId = 1;

  constructor(private readonly opts: LinkOptions) {}

  get era(): string {
    return `MCP ${this.protocolVersion}, a session with its event stream`;
  }

  async open(): Promise<void> {
    if (!this.session) await this.initialize();
    try {
      await this.openStream();
    } catch (err) {
      if (!(err instanceof LinkGone)) throw err;
      this.session = undefined;
      await this.initialize();
      await this.openStream();
    }
  }

  async request(method: string, params: unknown, signal?: AbortSignal): Promise<unknown> {
    const message = { jsonrpc: '2.0', id: this.nextId++, method, params };
    const reply = await post(this.opts.url, this.headers(), message, signal);
    if (reply.status >= 200 && reply.status < 300) return rpcResult(reply.body);
    if (reply.status === 404 && this.session) {
      // The server forgot the session (it ended, or the database was replaced).
      this.session = undefined;
      throw new LinkGone('the session ended');
    }
    throw failureOf(reply);
  }

  drop(): void {
    this.stream.current?.abort();
    this.stream.current = undefined;
  }

  async close(): Promise<void> {
    this.drop();
    if (!this.session) return;
    await fetch(this.opts.url, {
      method: 'DELETE',
      headers: this.headers(),
      signal: AbortSignal.timeout(1_000),
    })
      .then((r) => r.body?.cancel())
      .catch(() => {});
  }

  private async initialize(): Promise<void> {
    const reply = await post(this.opts.url, this.headers(), {
      jsonrpc: '2.0',
      id: this.nextId++,
      method: 'initialize',
      params: {
        protocolVersion: LEGACY_PROTOCOL_VERSIONS[0],
        capabilities: {},
        clientInfo: this.opts.clientInfo,
      },
    });
    if (reply.status < 200 || reply.status >= 300) throw failureOf(reply);
    const result = rpcResult(reply.body) as { protocolVersion?: unknown };
    const session = reply.headers.get(HEADER.sessionId);
    if (!session) throw new LinkFailed('the server answered initialize without a session id');
    this.session = session;
    if (typeof result.protocolVersion === 'string') this.protocolVersion = result.protocolVersion;
    const done = await post(this.opts.url, this.headers(), {
      jsonrpc: '2.0',
      method: 'notifications/initialized',
    });
    if (done.status >= 300) throw failureOf(done);
  }

  private async openStream(): Promise<void> {
    const refused = await openEventStream(
      this.stream,
      this.opts.url,
      {
        method: 'GET',
        headers: this.headers({
          accept: 'text/event-stream',
          ...(this.lastEventId !== undefined ? { [HEADER.lastEventId]: this.lastEventId } : {}),
        }),
      },
      {
        idleMs: this.opts.idleMs,
        onId: (id) => (this.lastEventId = id),
        onMessage: (m) => {
          if (typeof m.method === 'string' && m.id === undefined) {
            this.opts.onNotification(m.method, m.params);
          }
        },
        onBadMessage: () => this.opts.log.warn('ignored a stream message that is not JSON'),
        onEnd: () => this.opts.onStreamEnd(new LinkFailed('the event stream ended')),
      },
    );
    if (!refused) return;
    if (refused.status === 404) throw new LinkGone('the session ended');
    throw refusalOf(refused) ?? new LinkFailed(`the stream was refused (HTTP ${refused.status})`);
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      authorization: `Bearer ${this.opts.token}`,
      ...(this.session
        ? { [HEADER.sessionId]: this.session, [HEADER.protocolVersion]: this.protocolVersion }
        : {}),
      ...extra,
    };
  }
}
