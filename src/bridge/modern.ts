import {
  CHANNEL_METHOD,
  encodeHeaderValue,
  HEADER,
  MCP_NAME_PARAM,
  META,
  MODERN_METHOD,
  MODERN_PROTOCOL_VERSIONS,
  RPC_ERROR,
} from '../mcp/protocol.js';
import { ModernChannel } from './channel.js';
import type { Link, LinkOptions } from './link.js';
import {
  failureOf,
  LinkFailed,
  LinkGone,
  openEventStream,
  post,
  refusalOf,
  rpcErrorOf,
  rpcResult,
  type StreamSlot,
} from './wire.js';

// The modern era of MCP (2026-07-28) over Streamable HTTP: stateless. Every request carries
// the version and the client in `_meta`, and its method and name in headers; there is no
// session to open. Push is a subscriptions/listen stream of resource updates, which
// ModernChannel (channel.ts) turns into the channel events the stdio client expects.

export class ModernLink implements Link {
  readonly version: string = MODERN_PROTOCOL_VERSIONS[0];
  readonly era = `MCP ${this.version}, stateless, with ${MODERN_METHOD.listen}`;
  private readonly channel: ModernChannel;
  /** The bridge's own requests go here: the URL without a ?tools= profile. */
  private readonly ownUrl: URL;
  private readonly stream: StreamSlot = {};
  private nextId = 1;

  constructor(private readonly opts: LinkOptions) {
    this.ownUrl = new URL(opts.url);
    this.ownUrl.searchParams.delete('tools');
    this.channel = new ModernChannel(
      (method, params) => this.send(this.ownUrl, method, params),
      (params) => opts.onNotification(CHANNEL_METHOD, params),
      opts.log,
    );
  }

  /**
   * Whether the server offers this era: it answers server/discover naming this version. Any
   * other answer (an error for the version, an unknown method) means it speaks only the 2025
   * era; no answer, or a 5xx, decides nothing (LinkFailed); a refused token is RemoteRefused.
   */
  async offered(): Promise<boolean> {
    const method = MODERN_METHOD.discover;
    const reply = await post(this.opts.url, this.headers(method, {}), this.message(method, {}));
    const refused = refusalOf(reply);
    if (refused) throw refused;
    if (reply.status >= 500 || reply.status === 429) {
      throw new LinkFailed(`${method} answered HTTP ${reply.status}`);
    }
    const result = (reply.body as { result?: { supportedVersions?: unknown } } | undefined)?.result;
    return (
      reply.status === 200 &&
      Array.isArray(result?.supportedVersions) &&
      result.supportedVersions.includes(this.version)
    );
  }

  async open(): Promise<void> {
    await this.channel.prepare();
    const method = MODERN_METHOD.listen;
    const params = { notifications: { resourceSubscriptions: this.channel.uris } };
    const refused = await openEventStream(
      this.stream,
      this.opts.url,
      {
        method: 'POST',
        headers: {
          ...this.headers(method, params),
          'content-type': 'application/json',
          accept: 'text/event-stream',
        },
        body: JSON.stringify(this.message(method, params)),
      },
      {
        idleMs: this.opts.idleMs,
        onMessage: (m) => {
          const update = (m.params ?? {}) as { uri?: unknown };
          if (m.method === MODERN_METHOD.resourceUpdated && typeof update.uri === 'string') {
            this.channel.updated(update.uri);
          } else if (m.method === MODERN_METHOD.acknowledged) {
            this.opts.log.debug({ params: m.params }, 'listening to Baton');
          }
        },
        onBadMessage: () => this.opts.log.warn('ignored a stream message that is not JSON'),
        // Whatever happened while no stream was open (or before this one acknowledged).
        onOpen: () => this.channel.catchUp(),
        onEnd: () => this.opts.onStreamEnd(new LinkFailed('the listen stream ended')),
      },
    );
    if (!refused) return;
    if (unsupported(refused)) throw new LinkGone(`the server no longer speaks MCP ${this.version}`);
    const error = rpcErrorOf(refused.body);
    const why = error ? `HTTP ${refused.status}: ${error.message}` : `HTTP ${refused.status}`;
    throw refusalOf(refused) ?? new LinkFailed(`${method} was refused (${why})`);
  }

  /** A request of the stdio client: answered without the modern envelope, which it does not know. */
  async request(method: string, params: unknown, signal?: AbortSignal): Promise<unknown> {
    const p = typeof params === 'object' && params !== null ? params : {};
    return withoutEnvelope(
      await this.send(this.opts.url, method, p as Record<string, unknown>, signal),
    );
  }

  drop(): void {
    this.channel.pause();
    this.stream.current?.abort();
    this.stream.current = undefined;
  }

  async close(): Promise<void> {
    this.drop();
  }

  private async send(
    url: URL,
    method: string,
    params: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const reply = await post(
      url,
      this.headers(method, params),
      this.message(method, params),
      signal,
    );
    if (reply.status >= 200 && reply.status < 300) return rpcResult(reply.body);
    // Refused before it ran: the server was replaced by one that speaks only the 2025 era.
    if (unsupported(reply)) throw new LinkGone(`the server no longer speaks MCP ${this.version}`);
    throw failureOf(reply);
  }

  private headers(method: string, params: Record<string, unknown>): Record<string, string> {
    const field = MCP_NAME_PARAM[method];
    const name = field === undefined ? undefined : params[field];
    return {
      authorization: `Bearer ${this.opts.token}`,
      [HEADER.protocolVersion]: this.version,
      [HEADER.method]: method,
      ...(typeof name === 'string' ? { [HEADER.name]: encodeHeaderValue(name) } : {}),
    };
  }

  private message(method: string, params: Record<string, unknown>): Record<string, unknown> {
    const meta = typeof params._meta === 'object' && params._meta !== null ? params._meta : {};
    return {
      jsonrpc: '2.0',
      id: this.nextId++,
      method,
      params: {
        ...params,
        _meta: {
          ...meta,
          [META.protocolVersion]: this.version,
          [META.clientInfo]: this.opts.clientInfo,
          [META.clientCapabilities]: {},
        },
      },
    };
  }
}

function unsupported(reply: { status: number; body: unknown }): boolean {
  return (
    reply.status === 400 && rpcErrorOf(reply.body)?.code === RPC_ERROR.unsupportedProtocolVersion
  );
}

/** The members of the modern envelope, which a 2025-era result does not have. */
const ENVELOPE = ['resultType', 'ttlMs', 'cacheScope'];

/** A result as the 2025 era has it: no resultType, caching hints or serverInfo. */
function withoutEnvelope(result: unknown): unknown {
  if (typeof result !== 'object' || result === null) return result;
  const out: Record<string, unknown> = { ...result };
  for (const key of ENVELOPE) delete out[key];
  if (typeof out._meta === 'object' && out._meta !== null) {
    const meta: Record<string, unknown> = { ...out._meta };
    delete meta[META.serverInfo];
    if (Object.keys(meta).length > 0) out._meta = meta;
    else delete out._meta;
  }
  return out;
}
