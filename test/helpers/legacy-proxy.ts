import http from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from '../../src/db/embedded.js';
import { LEGACY_PROTOCOL_VERSIONS, RPC_ERROR } from '../../src/mcp/protocol.js';

// A Baton forced to the 2025 era: a proxy in front of a real server that refuses every request
// of the modern revision (2026-07-28) as a server serving only the 2025 revisions does, with 400
// and UnsupportedProtocolVersion listing what it serves, and passes everything else through
// untouched, event streams included. While the server behind it is down, the proxy drops the
// connection, as the server's own port would.

export interface LegacyProxy {
  mcpUrl: string;
  /** Modern requests refused so far. */
  refused(): number;
  close(): Promise<void>;
}

const isModern = (version: unknown, body: string): boolean => {
  if (typeof version === 'string' && version >= '2026') return true;
  try {
    const meta = (JSON.parse(body) as { params?: { _meta?: Record<string, unknown> } }).params
      ?._meta;
    return typeof meta?.['io.modelcontextprotocol/protocolVersion'] === 'string';
  } catch {
    return false;
  }
};

export async function startLegacyProxy(targetPort: number): Promise<LegacyProxy> {
  let refused = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (isModern(req.headers['mcp-protocol-version'], body.toString('utf8'))) {
        refused++;
        const id = (() => {
          try {
            return (JSON.parse(body.toString('utf8')) as { id?: unknown }).id ?? null;
          } catch {
            return null;
          }
        })();
        res.writeHead(400, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            jsonrpc: '2.0',
            id,
            error: {
              code: RPC_ERROR.unsupportedProtocolVersion,
              message: 'Unsupported protocol version',
              data: { supported: LEGACY_PROTOCOL_VERSIONS },
            },
          }),
        );
        return;
      }
      const upstream = http.request(
        {
          host: '127.0.0.1',
          port: targetPort,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: `127.0.0.1:${targetPort}` },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.on('error', () => res.destroy());
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      upstream.end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    mcpUrl: `http://127.0.0.1:${port}/mcp`,
    refused: () => refused,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
