import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { TestBaton } from './baton.js';

/** SDK clients of one server, and how many requests they have in flight (for settle()). */
export function sdkClients(port: number) {
  const clients: Client[] = [];
  // The SDK client sends some requests without awaiting them (the GET that probes for a
  // stream after initialization), so settle() counts what its clients have in flight.
  let inflight = 0;
  const trackedFetch: typeof fetch = async (input, init) => {
    inflight++;
    try {
      return await fetch(input, init);
    } finally {
      inflight--;
    }
  };
  const connect: TestBaton['connect'] = async (token, o = {}) => {
    const client = new Client({ name: 'baton-test', version: '1.0.0' });
    const url = new URL(`http://127.0.0.1:${port}/mcp${o.profile ? `?tools=${o.profile}` : ''}`);
    const noStream: typeof fetch = async (input, init) =>
      init?.method === 'GET' ? new Response(null, { status: 405 }) : trackedFetch(input, init);
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: o.push === false ? noStream : trackedFetch,
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  };
  return {
    connect,
    inflight: () => inflight,
    closeAll: async () => {
      await Promise.allSettled(clients.map((c) => c.close()));
    },
  };
}
