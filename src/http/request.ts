import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';

// Small helpers shared by every route: bodies with a hard limit, JSON replies, the request id,
// and the client address (X-Forwarded-For is believed only from TRUST_PROXY).

const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLarge extends Error {}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge());
  // Events rather than async iteration: a body is usually one chunk, and this is every request.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.resume(); // the rest is read and dropped; the reply closes the connection
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    req.on('data', onData);
    req.on('end', onEnd);
    req.once('error', reject);
    // A client that goes away mid-body ends the request without 'end' (and maybe without 'error').
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection during the request'));
    });
  });
}

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** A well-formed incoming x-request-id is kept for tracing across proxies; otherwise a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendRaw(res, status, JSON.stringify(body), headers);
}

/** When to try again after a 429 or 503 that names no better time. */
const DEFAULT_RETRY_AFTER_SECONDS = 2;

export function sendRaw(
  res: ServerResponse,
  status: number,
  json: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  // Every "not now" says when: clients and proxies back off by Retry-After (a caller's own
  // comes after it, so it wins).
  const retry: Record<string, string> =
    status === 429 || status === 503 ? { 'retry-after': String(DEFAULT_RETRY_AFTER_SECONDS) } : {};
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
    ...retry,
    ...headers,
  });
  res.end(json);
}

export function sendError(
  res: ServerResponse,
  error: AppError,
  headers: Record<string, string> = {},
  status: number = error.status,
): void {
  const after = error.details.retry_after_seconds;
  const retry: Record<string, string> =
    typeof after === 'number' ? { 'retry-after': String(after) } : {};
  sendJson(res, status, { error: error.toJSON() }, { ...retry, ...headers });
}

/** The signal of a request whose client gave up (abortOnDisconnect), made when first asked for. */
export type Disconnected = () => AbortSignal;

/**
 * Aborts when the connection closes before the response was sent: the client gave up, so work
 * that only waits (a long-poll) can stop. Only such work asks for the signal, so most requests
 * never make one.
 */
export function abortOnDisconnect(res: ServerResponse): Disconnected {
  let signal: AbortSignal | undefined;
  return () => {
    if (signal) return signal;
    const controller = new AbortController();
    signal = controller.signal;
    const gone = () => {
      if (!res.writableFinished) controller.abort();
    };
    if (res.closed) gone();
    else res.once('close', gone);
    return signal;
  };
}

export function clientAddress(req: IncomingMessage, config: Readonly<Config>): string {
  const peer = normaliseIp(req.socket.remoteAddress ?? '');
  const forwarded = req.headers['x-forwarded-for'];
  if (!forwarded || !isTrusted(peer, config)) return peer;
  // Walk right to left past trusted proxies: the first untrusted hop is the client.
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)
    .split(',')
    .map((h) => normaliseIp(h.trim()))
    .filter((h) => isIP(h) !== 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!isTrusted(hop, config)) return hop;
  }
  return hops[0] ?? peer;
}

function isTrusted(ip: string, config: Readonly<Config>): boolean {
  const family = isIP(ip);
  if (family === 0 || config.trustProxyList.length === 0) return false;
  return config.trustProxy.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
