import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { expect, vi } from 'vitest';

// The official 2.x client, which speaks both eras: pinned to the modern revision (2026-07-28),
// or in `auto` mode (probe with server/discover, fall back to initialize).

export const MODERN = '2026-07-28';

export interface ModernOptions {
  /** `pin` (the default) refuses anything but 2026-07-28; `auto` probes and may fall back. */
  mode?: 'pin' | 'auto';
  profile?: 'core';
  /** Sends every request through this fetch (to spread them over processes, say). */
  fetch?: typeof fetch;
}

const open: Client[] = [];

export async function connectModern(
  mcpUrl: string,
  token: string,
  opts: ModernOptions = {},
): Promise<Client> {
  const client = new Client(
    { name: 'baton-modern-test', version: '1.0.0' },
    {
      versionNegotiation: {
        mode: opts.mode === 'auto' ? 'auto' : { pin: MODERN },
      },
    },
  );
  const url = new URL(`${mcpUrl}${opts.profile ? `?tools=${opts.profile}` : ''}`);
  await client.connect(
    new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    }),
  );
  open.push(client);
  return client;
}

/** Closes every client this file connected. */
export async function closeModernClients(): Promise<void> {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
}

/** The structured result of a tool call over the modern era. */
export async function callModern(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = await client.callTool({ name, arguments: args });
  return { isError: r.isError === true, body: r.structuredContent as Record<string, any> };
}

/** Collects the resource updates a listening client receives. */
export function resourceUpdates(client: Client) {
  const uris: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    uris.push(n.params.uri);
  });
  return {
    uris,
    /** Waits (generously) until `uri` has been announced `times` times in all. */
    async next(uri: string, times = 1, timeout = 15_000): Promise<void> {
      await vi.waitFor(
        () =>
          expect(uris.filter((u) => u === uri).length, JSON.stringify(uris)).toBeGreaterThanOrEqual(
            times,
          ),
        { timeout, interval: 20 },
      );
    },
  };
}

/** A modern request over plain fetch, with every header right unless a test overrides one. */
export async function modernPost(
  mcpUrl: string,
  token: string,
  message: { id?: number | string; method: string; params?: Record<string, unknown> },
  opts: {
    headers?: Record<string, string | undefined>;
    meta?: Record<string, unknown> | null;
  } = {},
) {
  const params: Record<string, unknown> = { ...message.params };
  if (opts.meta !== null) {
    params._meta = opts.meta ?? {
      'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    };
  }
  const name = typeof params.name === 'string' ? params.name : params.uri;
  const headers: Record<string, string | undefined> = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': message.method,
    ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
    ...opts.headers,
  };
  const res = await fetch(mcpUrl, {
    method: 'POST',
    headers: Object.fromEntries(
      Object.entries(headers).filter(([, v]) => v !== undefined),
    ) as Record<string, string>,
    body: JSON.stringify({ jsonrpc: '2.0', id: message.id ?? 1, method: message.method, params }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as any) : undefined,
  };
}
