import { RPC_ERROR } from '../mcp/protocol.js';
import { sseMessages } from './sse.js';

// One JSON-RPC exchange with the remote Baton over HTTP, the same in both eras of MCP: POST a
// message, read the answer (JSON, or an event stream carrying it), and sort failures into what
// the bridge does about them.

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
/**
 * What the link stood on is gone (the 2025 session ended, or the server no longer speaks the
 * era): the request was refused before it ran, so it may be sent again on a new link.
 */
export class LinkGone extends Error {}
/** The connection failed or the answer could not be read. */
export class LinkFailed extends Error {}

/** Beyond the longest long-poll (60 s), with room for a slow database. */
const REQUEST_TIMEOUT_MS = 120_000;

export interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * POSTs one message. Resolves with any answer the server gave (the caller sorts statuses);
 * throws LinkFailed when there was none.
 */
export async function post(
  url: URL,
  headers: Record<string, string>,
  message: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<Reply> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
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
      body = text === '' ? undefined : safeJson(text);
    }
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new LinkFailed(`the answer could not be read: ${describe(err)}`);
  }
  return { status: res.status, headers: res.headers, body };
}

/**
 * The refusal or failure a non-2xx reply means: RemoteRefused (401/403), RemoteUnavailable
 * (the server is there but cannot serve now: 503, 429), else the JSON-RPC error it carries.
 */
export function failureOf(reply: Reply): RemoteRefused | RemoteUnavailable | RemoteRpcError {
  const refused = refusalOf(reply);
  if (refused) return refused;
  const text = errorMessage(reply.body);
  if (reply.status === 503 || reply.status === 429 || reply.status >= 500) {
    return new RemoteUnavailable(text ?? `the Baton server answered HTTP ${reply.status}`);
  }
  const error = rpcErrorOf(reply.body);
  if (error) return error;
  return new RemoteRpcError(
    RPC_ERROR.internalError,
    text ?? `the Baton server answered HTTP ${reply.status}`,
  );
}

export function refusalOf(reply: { status: number; body: unknown }): RemoteRefused | undefined {
  if (reply.status !== 401 && reply.status !== 403) return undefined;
  const text = errorMessage(reply.body) ?? 'the token was refused';
  return new RemoteRefused(`the Baton server refused this bridge's token: ${text}`);
}

/** The result of a JSON-RPC answer, or its error thrown as RemoteRpcError. */
export function rpcResult(body: unknown): unknown {
  const error = rpcErrorOf(body);
  if (error) throw error;
  if (typeof body === 'object' && body !== null && 'result' in body) return body.result;
  throw new RemoteRpcError(
    RPC_ERROR.internalError,
    'the Baton server sent an answer that is not JSON-RPC',
  );
}

export function rpcErrorOf(body: unknown): RemoteRpcError | undefined {
  const e = (body as { error?: { code?: unknown; message?: unknown; data?: unknown } } | null)
    ?.error;
  if (typeof e?.code !== 'number' || typeof e.message !== 'string') return undefined;
  return new RemoteRpcError(e.code, e.message.slice(0, 2000), e.data);
}

async function replyFromStream(body: AsyncIterable<Uint8Array>, id: unknown): Promise<unknown> {
  for await (const m of sseMessages(body)) {
    if (m.data === undefined) continue;
    const message = JSON.parse(m.data) as { id?: unknown };
    if (message.id === id && id !== undefined) return message;
  }
  throw new Error('the stream ended before the answer');
}

function errorMessage(body: unknown): string | undefined {
  const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof message === 'string' ? message.slice(0, 500) : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A one-line reason for a failure, as a log or an `unavailable` message says it. */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  return err.message.split('\n')[0] ?? 'failed';
}

/** Where a link keeps its push stream: one at a time, and a newly opened one replaces it. */
export interface StreamSlot {
  current?: AbortController;
}

/** What a link does with its push stream. */
export interface StreamReader {
  /** A stream silent this long is presumed dead and aborted: servers write a comment every 20 s. */
  idleMs: number;
  onMessage(message: Record<string, unknown>): void;
  onId?(id: string): void;
  /** A message whose data is not a JSON object; it is skipped. */
  onBadMessage(): void;
  /** The stream is in the slot and being read; called before any of it arrives. */
  onOpen?(): void;
  /** The stream ended or broke while still in the slot (neither replaced nor dropped). */
  onEnd(): void;
}

/**
 * Opens a push stream, the same in both eras but for the request. When the server answers 200
 * with an event stream, the stream replaces the slot's and is read until it ends; resolves
 * undefined. Otherwise resolves with the refusal (its body parsed when it is JSON), for the
 * link to sort. Throws LinkFailed when there was no answer.
 */
export async function openEventStream(
  slot: StreamSlot,
  url: URL,
  request: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  reader: StreamReader,
): Promise<Reply | undefined> {
  const controller = new AbortController();
  let res: Response;
  try {
    res = await fetch(url, { ...request, signal: controller.signal });
  } catch (err) {
    throw new LinkFailed(describe(err));
  }
  const type = res.headers.get('content-type') ?? '';
  if (res.status === 200 && type.startsWith('text/event-stream') && res.body) {
    slot.current?.abort();
    slot.current = controller;
    void follow(slot, controller, res.body as unknown as AsyncIterable<Uint8Array>, reader);
    reader.onOpen?.();
    return undefined;
  }
  const text = await res.text().catch(() => '');
  return { status: res.status, headers: res.headers, body: safeJson(text) };
}

async function follow(
  slot: StreamSlot,
  controller: AbortController,
  body: AsyncIterable<Uint8Array>,
  reader: StreamReader,
): Promise<void> {
  await readStream(body, controller, reader);
  if (slot.current !== controller) return; // replaced, or dropped on purpose
  slot.current = undefined;
  reader.onEnd();
}

/**
 * Reads a push stream until it ends, handing each JSON message to `onMessage` (and each id to
 * `onId`). A stream silent for `idleMs` is aborted.
 */
async function readStream(
  body: AsyncIterable<Uint8Array>,
  controller: AbortController,
  reader: StreamReader,
): Promise<void> {
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(), reader.idleMs);
    idle.unref();
  };
  arm();
  try {
    for await (const m of sseMessages(body, arm)) {
      if (m.id !== undefined) reader.onId?.(m.id);
      if (m.data === undefined || (m.event !== undefined && m.event !== 'message')) continue;
      const message = safeJson(m.data);
      if (typeof message === 'object' && message !== null) {
        reader.onMessage(message as Record<string, unknown>);
      } else reader.onBadMessage();
    }
  } catch {
    // aborted, or the connection broke: either way the stream is over
  } finally {
    clearTimeout(idle);
  }
}
