import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { expect, vi } from 'vitest';
import { z } from 'zod';

// Reading pushes the way clients do: the SDK client's notification handler, and a raw SSE
// reader over fetch (for Last-Event-ID, ids and ends, which the SDK keeps to itself).

/** vi.waitFor with a generous deadline: arrival may take a while on a loaded machine. */
export function eventually<T>(fn: () => T | Promise<T>, timeout = 15_000): Promise<T> {
  return vi.waitFor(fn, { timeout, interval: 20 });
}

export const ChannelNotification = z.object({
  method: z.literal('notifications/claude/channel'),
  params: z.object({ content: z.string(), meta: z.record(z.string(), z.string()) }),
});
export type Channel = z.infer<typeof ChannelNotification>['params'];

/** Collects the channel notifications a client receives. */
export function channelInbox(client: Client) {
  const received: Channel[] = [];
  client.setNotificationHandler(ChannelNotification, (n) => {
    received.push(n.params);
  });
  return {
    received,
    /** Waits (generously) until a notification matches, and returns it. */
    async next(match: (c: Channel) => boolean, timeout = 15_000): Promise<Channel> {
      return vi.waitFor(
        () => {
          const hit = received.find(match);
          expect(
            hit,
            `no channel notification matched; got ${JSON.stringify(received)}`,
          ).toBeDefined();
          return hit as Channel;
        },
        { timeout, interval: 20 },
      );
    },
  };
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface SseReader {
  status: number;
  headers: Headers;
  /** Every message with data, in order, as it arrives. */
  events: SseEvent[];
  /** The last id the stream carried, with or without data. */
  lastId(): string | undefined;
  /** Comments (heartbeats) seen. */
  comments: number;
  ended: Promise<void>;
  /** Waits until `n` messages have arrived. */
  waitFor(n: number, timeout?: number): Promise<SseEvent[]>;
  /**
   * Waits for the next message named `event` after the one next() last returned (messages of
   * other names in between are passed over), and returns it; fails when the stream ends first.
   */
  next(event: string, timeout?: number): Promise<SseEvent>;
  close(): void;
}

export async function readSse(url: string, headers: Record<string, string>): Promise<SseReader> {
  const controller = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  let lastId: string | undefined;
  let comments = 0;
  let done = false;
  /** Where next() looks from. */
  let cursor = 0;
  const ended = (async () => {
    if (!res.ok || !res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const e: Partial<SseEvent> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments++;
            const colon = line.indexOf(':');
            const field = line.slice(0, colon);
            const value = line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') e.id = lastId = value;
            else if (field === 'event') e.event = value;
            else if (field === 'data')
              e.data = e.data === undefined ? value : `${e.data}\n${value}`;
          }
          if (e.data !== undefined) events.push(e as SseEvent);
        }
      }
    } catch {
      // aborted by close()
    }
  })().finally(() => (done = true));
  return {
    status: res.status,
    headers: res.headers,
    events,
    lastId: () => lastId,
    get comments() {
      return comments;
    },
    ended,
    waitFor: (n, timeout = 15_000) =>
      vi.waitFor(
        () => {
          expect(events.length, JSON.stringify(events)).toBeGreaterThanOrEqual(n);
          return events.slice();
        },
        { timeout, interval: 20 },
      ),
    next: async (event, timeout = 15_000) => {
      const deadline = Date.now() + timeout;
      for (;;) {
        // Read the end before looking, so a message pushed just before it is still found.
        const over = done;
        const at = events.findIndex((e, i) => i >= cursor && e.event === event);
        if (at >= 0) {
          cursor = at + 1;
          return events[at] as SseEvent;
        }
        const seen = JSON.stringify(events.slice(cursor));
        if (over)
          throw new Error(`the stream ended before the next "${event}" message; got ${seen}`);
        if (Date.now() > deadline)
          throw new Error(`no "${event}" message within ${timeout} ms; got ${seen}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => controller.abort(),
  };
}

/** A raw MCP session over fetch: initialize, initialized, and the session id. */
export async function rawSession(mcpUrl: string, token: string): Promise<string> {
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  const init = await fetch(mcpUrl, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'sse-test', version: '1' },
      },
    }),
  });
  const sessionId = init.headers.get('mcp-session-id');
  if (!init.ok || !sessionId) throw new Error(`initialize failed: ${init.status}`);
  await init.json();
  const done = await fetch(mcpUrl, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': sessionId },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await done.body?.cancel();
  return sessionId;
}

/** The channel params carried by a raw SSE message. */
export function channelOf(e: SseEvent): Channel {
  return ChannelNotification.parse(JSON.parse(e.data)).params;
}
