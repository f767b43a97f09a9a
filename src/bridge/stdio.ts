import type { Readable, Writable } from 'node:stream';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type ListToolsResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import { CHANNEL_METHOD } from '../mcp/protocol.js';
import { VERSION } from '../version.js';
import { fallback } from './fallback.js';
import { Remote, RemoteRefused, RemoteRpcError, RemoteUnavailable } from './remote.js';

// `baton connect`: a stdio MCP server (of the 2025 era, which stdio runtimes speak) for runtimes
// that cannot reach a remote endpoint. It forwards tools/list and tools/call to the remote Baton,
// in the newest era the remote offers, and re-emits its pushes as notifications/claude/channel,
// only once the client has sent notifications/initialized. While the remote is down it keeps
// running: tool calls answer `unavailable`, and tools/list answers from the last list it saw (or
// this build's catalogue).

export interface BridgeOptions {
  url: URL;
  token: string;
  log: Logger;
  stdin?: Readable;
  stdout?: Writable;
  /** Reconnect backoff bounds for the remote link. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface Bridge {
  /** Resolves when the client goes away (stdin ends) or close() is called. */
  done: Promise<void>;
  close(): Promise<void>;
}

/** Pushes kept while the client has not finished initializing; the oldest go first. */
const MAX_PENDING = 100;

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const profile = opts.url.searchParams.get('tools') === 'core' ? 'core' : 'full';
  const built = fallback(profile);
  const server = new Server(
    { name: 'baton', title: 'Baton (stdio bridge)', version: VERSION },
    {
      capabilities: { tools: { listChanged: true }, experimental: { 'claude/channel': {} } },
      instructions: built.instructions,
    },
  );
  let initialized = false;
  const pending: unknown[] = [];
  const emit = (params: unknown) => {
    server
      .notification({ method: CHANNEL_METHOD, params: params as Record<string, unknown> })
      .catch((err: unknown) => opts.log.warn({ err }, 'could not write a push to stdio'));
  };
  server.oninitialized = () => {
    initialized = true;
    for (const params of pending.splice(0)) emit(params);
    void refreshTools();
  };

  let tools = built.tools;
  let toolsJson = JSON.stringify(tools.tools);
  let served = false;

  const remote = new Remote({
    url: opts.url,
    token: opts.token,
    log: opts.log,
    clientInfo: { name: 'baton-connect', version: VERSION },
    minDelayMs: opts.minDelayMs,
    maxDelayMs: opts.maxDelayMs,
    onNotification(method, params) {
      if (method !== CHANNEL_METHOD) return;
      if (initialized) return emit(params);
      opts.log.debug('holding a push until the client sends notifications/initialized');
      if (pending.push(params) > MAX_PENDING) pending.shift();
    },
    onUp: () => void refreshTools(),
  });

  /** Learns the remote's tool list; tells the client when it differs from what it was given. */
  async function refreshTools(): Promise<void> {
    if (!initialized) return;
    try {
      const fresh = (await remote.request('tools/list', {})) as ListToolsResult;
      const json = JSON.stringify(fresh.tools);
      if (json === toolsJson) return;
      tools = fresh;
      toolsJson = json;
      if (served) await server.sendToolListChanged();
    } catch {
      // the list already served stands; the next connection tries again
    }
  }

  server.setRequestHandler(ListToolsRequestSchema, async (req, extra) => {
    served = true;
    try {
      const fresh = (await remote.request(
        'tools/list',
        req.params ?? {},
        extra.signal,
      )) as ListToolsResult;
      tools = fresh;
      toolsJson = JSON.stringify(fresh.tools);
      return fresh;
    } catch (err) {
      if (err instanceof RemoteRpcError) throw new McpError(err.code, err.message, err.data);
      return tools;
    }
  });

  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    try {
      return (await remote.request('tools/call', req.params, extra.signal)) as CallToolResult;
    } catch (err) {
      if (err instanceof RemoteRpcError) throw new McpError(err.code, err.message, err.data);
      if (err instanceof RemoteRefused) return errorResult('forbidden', err.message);
      if (err instanceof RemoteUnavailable) return errorResult('unavailable', err.message);
      opts.log.error({ err }, 'bridge call failed');
      return errorResult('unavailable', 'the bridge could not forward this call; retry shortly');
    }
  });

  const stdin = opts.stdin ?? process.stdin;
  const transport = new StdioServerTransport(stdin, opts.stdout ?? process.stdout);
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await remote.close();
      await server.close().catch(() => {});
      finish();
    })());
  transport.onerror = (err) => opts.log.warn({ err }, 'stdio transport error');
  // The client went away: nothing more to bridge.
  stdin.once('end', () => void close());
  stdin.once('close', () => void close());
  await server.connect(transport);
  remote.start();
  return { done, close };
}

function errorResult(code: string, message: string): CallToolResult {
  const body = { error: { code, message } };
  return {
    content: [{ type: 'text', text: JSON.stringify(body) }],
    structuredContent: body,
    isError: true,
  };
}
