import type { IncomingMessage, ServerResponse } from 'node:http';

// One Server-Sent Events response. Writes never wait: a client that stops reading while its
// unsent output grows past a bound is cut off rather than buffered without end. It loses
// nothing by that, since every stream here resumes from Last-Event-ID.

const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

/** How long a client waits before reconnecting after the stream ends (the SSE `retry:` field). */
const RETRY_MS = 2_000;

export class SseResponse {
  private ended = false;
  private readonly closeHandlers: (() => void)[] = [];

  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
    headers: Record<string, string> = {},
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx and some others buffer responses unless told not to.
      'x-accel-buffering': 'no',
      ...headers,
    });
    req.socket.setNoDelay(true);
    req.socket.setKeepAlive(true, 30_000);
    res.write(`retry: ${RETRY_MS}\n\n`);
    res.on('close', () => this.finish());
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Writes one event; `data` must be a single line (JSON is). Returns false once closed. */
  send(event: { id?: number; event?: string; data: string }): boolean {
    let text = '';
    if (event.id !== undefined) text += `id: ${event.id}\n`;
    if (event.event !== undefined) text += `event: ${event.event}\n`;
    text += `data: ${event.data}\n\n`;
    return this.write(text);
  }

  /** An event carrying only an id: it moves the client's Last-Event-ID without a message. */
  mark(id: number): boolean {
    return this.write(`id: ${id}\n\n`);
  }

  /** A comment line, invisible to clients; keeps proxies from closing an idle stream. */
  comment(text: string): boolean {
    return this.write(`: ${text}\n\n`);
  }

  onClose(fn: () => void): void {
    if (this.ended) fn();
    else this.closeHandlers.push(fn);
  }

  end(): void {
    if (this.ended) return;
    this.res.end();
    this.finish();
  }

  private write(text: string): boolean {
    if (this.ended) return false;
    if (this.res.writableLength > MAX_UNSENT_BYTES) {
      this.res.destroy();
      this.finish();
      return false;
    }
    this.res.write(text);
    return true;
  }

  private finish(): void {
    if (this.ended && this.closeHandlers.length === 0) return;
    this.ended = true;
    for (const fn of this.closeHandlers.splice(0)) fn();
  }
}

/** A decimal integer that a JavaScript number holds exactly. */
const SEQ = /^\d{1,15}$/;

/** A ledger seq a client sends (an SSE id, a query parameter); undefined when it is not one. */
export function seqParam(text: string): number | undefined {
  return SEQ.test(text) ? Number(text) : undefined;
}

/** The Last-Event-ID a client resumes from: absent, or a seq. */
export function lastEventIdOf(req: IncomingMessage): number | undefined | 'invalid' {
  const v = req.headers['last-event-id'];
  if (v === undefined || v === '') return undefined;
  const seq = typeof v === 'string' ? seqParam(v) : undefined;
  return seq ?? 'invalid';
}
