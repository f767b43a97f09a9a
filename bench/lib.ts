import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Pieces of the benchmark: a lean HTTP client for load (keep-alive sockets, bodies built once),
// timing helpers, and a Baton process to measure.

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/index.js`;

export function progress(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function summarize(samplesMs: number[]) {
  const s = [...samplesMs].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
  };
}

export const now = () => Number(process.hrtime.bigint()) / 1e6;

/** The load client: node:http with keep-alive; chosen so the generator is not the bottleneck. */
export class RawClient {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  constructor(readonly port: number) {}

  post(
    path: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          path,
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'content-length': Buffer.byteLength(body),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: res.headers,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
      req.end(body);
    });
  }

  get(
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: this.port, path, agent: this.agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
        })
        .on('error', reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface McpSession {
  token: string;
  sessionId: string;
}

/** Opens an MCP session the way any client does: initialize, then notifications/initialized. */
export async function openSession(client: RawClient, token: string): Promise<McpSession> {
  const auth = { authorization: `Bearer ${token}` };
  const init = await client.post(
    '/mcp',
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      },
    }),
    auth,
  );
  const sessionId = init.headers['mcp-session-id'];
  if (init.status !== 200 || typeof sessionId !== 'string')
    throw new Error(`initialize failed: ${init.status} ${init.body}`);
  await client.post('/mcp', '{"jsonrpc":"2.0","method":"notifications/initialized"}', {
    ...auth,
    'mcp-session-id': sessionId,
  });
  return { token, sessionId };
}

let rpcId = 1;

/** One tools/call over MCP; returns the structured result or throws with the error. */
export async function callTool(
  client: RawClient,
  s: McpSession,
  name: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const res = await client.post(
    '/mcp',
    `{"jsonrpc":"2.0","id":${rpcId++},"method":"tools/call","params":{"name":${JSON.stringify(name)},"arguments":${JSON.stringify(args)}}}`,
    {
      authorization: `Bearer ${s.token}`,
      'mcp-session-id': s.sessionId,
      'mcp-protocol-version': '2025-06-18',
    },
  );
  if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  const msg = JSON.parse(res.body) as {
    result?: { structuredContent: Record<string, unknown>; isError?: boolean };
    error?: { message: string };
  };
  if (msg.error) throw new Error(`${name}: ${msg.error.message}`);
  if (msg.result?.isError)
    throw new Error(`${name}: ${JSON.stringify(msg.result.structuredContent)}`);
  return msg.result?.structuredContent ?? {};
}

export interface BatonProcess {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

export async function startBaton(
  env: Record<string, string>,
  port: number,
  nodeArgs: string[] = [],
): Promise<BatonProcess> {
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PORT: String(port),
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  let stopping = false;
  const exited = new Promise<void>((r) =>
    child.on('exit', (code, signal) => {
      if (!stopping) progress(`Baton exited unexpectedly (${code ?? signal}): ${out.slice(-2000)}`);
      r();
    }),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `Baton did not start (exit ${child.exitCode ?? child.signalCode}): ${out.slice(-500)}`,
      );
    }
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    port,
    stop: async () => {
      stopping = true;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
