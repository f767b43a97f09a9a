import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.js';
import { startTestBaton, type TestBaton } from './helpers/baton.js';
import { makeAgent, projectId } from './helpers/agents.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { startLegacyProxy, type LegacyProxy } from './helpers/legacy-proxy.js';
import { CLI, ROOT, runCli } from './helpers/process.js';
import { channelInbox, eventually } from './helpers/sse.js';

// `baton connect`, the real built command, spawned over stdio by the official SDK client, in
// front of a Baton server that the test stops and starts again on the same port. A second
// server on the same database stays up throughout, so the project keeps moving while the
// bridge's server is away. The bridge speaks the modern era (2026-07-28) to the server, which
// offers it, and the 2025 era through a proxy that refuses the modern one, as a server without
// it does. (Run `npm run build` first when running this file alone.)

let database: TestDatabase;
let port: number;
let remote: TestBaton | undefined;
let other: TestBaton;
let proxy: LegacyProxy;

beforeAll(async () => {
  database = await createTestDatabase();
  port = await freePort();
  remote = await startTestBaton({ database: { url: database.url }, port });
  other = await startTestBaton({ database: { url: database.url } });
  proxy = await startLegacyProxy(port);
});

afterAll(async () => {
  await proxy?.close();
  await remote?.close();
  await other?.close();
  await database?.drop();
});

const direct = () => `http://127.0.0.1:${port}/mcp`;

const env = (token: string, url = direct()) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  BATON_URL: url,
  BATON_TOKEN: token,
});

async function bridgeClient(token: string, url = direct()) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'connect'],
    env: env(token, url),
    cwd: ROOT,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const client = new Client({ name: 'stdio-runtime', version: '1.0.0' });
  const inbox = channelInbox(client);
  await client.connect(transport);
  return { client, transport, inbox, stderr: () => stderr };
}

const structured = (r: unknown) =>
  (r as { structuredContent: unknown }).structuredContent as Record<string, unknown> & {
    error?: { code: string; message: string };
  };

/** How the bridge's log names the era it connected in. */
const MODERN_LINK = /"era":"MCP 2026-07-28[^"]*","msg":"connected to Baton"/;
const LEGACY_LINK = /"era":"MCP 2025-11-25[^"]*","msg":"connected to Baton"/;

const ERAS = [
  { era: 'modern', url: direct, stream: 'listen', link: MODERN_LINK },
  { era: '2025', url: () => proxy.mcpUrl, stream: 'mcp', link: LEGACY_LINK },
] as const;

describe.each(ERAS)('baton connect in the $era era', ({ era, url, stream, link }) => {
  it('bridges tools and pushes, answers unavailable while the server is away, and recovers by itself', async () => {
    const me = await other.seed({ projectSlug: `bridge-${era}`, label: 'bridged' });
    const peer = await makeAgent(other, `bridge-${era}`, 'peer');
    const { client, transport, inbox, stderr } = await bridgeClient(me.token, url());

    expect(client.getServerCapabilities()?.experimental).toEqual({ 'claude/channel': {} });
    expect(client.getInstructions()).toMatch(/channel/);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['whoami', 'post', 'ack', 'whats_new']));
    const who = await client.callTool({ name: 'whoami', arguments: {} });
    expect(structured(who)).toMatchObject({ actor: me.actor, project: 'bridge-' + era });
    // Results come as the 2025 era has them, whichever era the bridge speaks.
    expect(Object.keys(who).sort()).toEqual(['content', 'structuredContent']);
    // Errors of the remote pass through as they are.
    const bad = await client.callTool({ name: 'ack', arguments: {} });
    expect(bad.isError).toBe(true);
    expect(structured(bad).error?.code).toBe('invalid_argument');

    // A post made on another process reaches the bridge's stream and comes out on stdio.
    await eventually(() => expect(remote?.streams.count(stream)).toBe(1), 15_000);
    expect(stderr()).toMatch(link);
    const first = await peer.call('post', { to_actor: me.actor, body: 'through the bridge' });
    const push = await inbox.next((c) => c.meta.post_id === String(first.body.post_id));
    expect(push.meta).toMatchObject({ kind: 'post', from: peer.actor });

    // The server goes away; the bridge keeps running and says so.
    await remote?.close();
    remote = undefined;
    const down = await client.callTool({ name: 'whoami', arguments: {} });
    expect(down.isError).toBe(true);
    expect(structured(down).error).toMatchObject({ code: 'unavailable' });
    expect(structured(down).error?.message).toMatch(/unreachable|retry/);
    expect((await client.listTools()).tools.length).toBe(names.length);
    expect(() => process.kill(transport.pid as number, 0)).not.toThrow();
    // Meanwhile the project moves on.
    const missed = await peer.call('post', { to_actor: me.actor, body: 'while you were away' });

    // Back on the same port. The bridge reconnects by itself, and picks up where it was, so the
    // missed post arrives, once; calls succeed again without a restart.
    remote = await startTestBaton({ database: { url: database.url }, port });
    await inbox.next((c) => c.meta.post_id === String(missed.body.post_id), 30_000);
    const again = await client.callTool({ name: 'whoami', arguments: {} });
    expect(structured(again)).toMatchObject({ actor: me.actor });
    const after = await peer.call('post', { to_actor: me.actor, body: 'and after' });
    await inbox.next((c) => c.meta.post_id === String(after.body.post_id));
    await client.callTool({ name: 'whoami', arguments: {} });
    expect(inbox.received.map((c) => c.meta.post_id)).toEqual(
      [first, missed, after].map((p) => String(p.body.post_id)),
    );
    if (era === '2025') expect(proxy.refused()).toBeGreaterThan(0);
    else expect(stderr()).not.toMatch(LEGACY_LINK);
    expect(stderr()).not.toMatch(/baton_[A-Za-z0-9_-]{43}/); // the token never reaches a log
    await client.close();
  });
});

describe('baton connect', () => {
  it('delivers the same channel events in both eras, each once', async () => {
    const slug = 'bridge-eras';
    const me = await other.seed({ projectSlug: slug, label: 'both-eras' });
    const peer = await makeAgent(other, slug, 'eras-peer');
    // One bridge per era for the same identity; the modern one with the core profile, which
    // limits the client's tools but not what the bridge reads for its pushes.
    const modern = await bridgeClient(me.token, `${direct()}?tools=core`);
    const legacy = await bridgeClient(me.token, proxy.mcpUrl);
    await eventually(() => expect(modern.stderr()).toMatch(MODERN_LINK));
    await eventually(() => expect(legacy.stderr()).toMatch(LEGACY_LINK));
    const core = (await modern.client.listTools()).tools.map((t) => t.name);
    expect(core).toContain('whoami');
    expect(core).not.toContain('query_events');

    let expected = 0;
    /** Both bridges have pushed `n` more events. */
    const arrived = async (n: number) => {
      expected += n;
      await eventually(() => {
        expect(modern.inbox.received, modern.stderr()).toHaveLength(expected);
        expect(legacy.inbox.received).toHaveLength(expected);
      });
    };
    const mine = (name: string, args: Record<string, unknown>) =>
      legacy.client.callTool({ name, arguments: args });

    await mine('register', { lane: 'eras-docs' });
    // A post to me with everything a channel event shows, and a body it must cut.
    const long = `Please review\n\n  the migration ${'and its rollback '.repeat(20)}😀 end`;
    await peer.call('post', {
      to_actor: me.actor,
      subject: 'Hand-off',
      body: long,
      ref: 'PR-7',
      tag: 'review',
    });
    await arrived(1);
    await peer.call('post', { to_lane: 'eras-docs', body: 'docs freeze at noon' });
    await arrived(1);
    await peer.call('post', { broadcast: true, body: 'release at five' });
    await arrived(1);
    // Acts of my own push nothing to me.
    await mine('post', { to_actor: peer.actor, body: 'on it' });
    await mine('task_create', { title: 'Mine alone', owner: me.actor });
    // A task created with me as its owner, and one assigned to me later.
    const given = await peer.call('task_create', { title: 'Write the notes', owner: me.actor });
    expect(given.isError).toBe(false);
    await arrived(1);
    const later = await peer.call('task_create', { title: 'Check the notes' });
    await peer.call('task_assign', {
      task_id: (later.body.task as { task_id: number }).task_id,
      owner: me.actor,
    });
    await arrived(1);
    // My lease expires and is taken over.
    const held = structured(await mine('lease', { surface: 'docs/**', ttl_seconds: 60 }));
    await sql`update leases set expires_at = now() - interval '1 second'
              where project_id = ${await projectId(other, slug)} and id = ${held.lease_id as number}`.execute(
      other.storage.db,
    );
    await peer.call('lease', { surface: 'docs/intro.md' });
    await arrived(1);
    // A last post: the inbox is read again, and what it already pushed is not pushed again.
    await peer.call('post', { to_actor: me.actor, body: 'last one' });
    await arrived(1);

    expect(modern.inbox.received).toEqual(legacy.inbox.received);
    expect(modern.inbox.received.map((c) => c.meta.kind)).toEqual([
      'post',
      'post',
      'post',
      'task_assigned',
      'task_assigned',
      'lease_lost',
      'post',
    ]);
    const [first] = modern.inbox.received;
    expect(first?.meta).toMatchObject({ from: peer.actor, ref: 'PR-7', tag: 'review' });
    expect(first?.content).toMatch(/^.+ to you: Hand-off — Please review the migration and .*…$/);
    expect(modern.stderr()).not.toMatch(LEGACY_LINK);
    await modern.client.close();
    await legacy.client.close();
  });

  it('holds pushes until the client has sent notifications/initialized', async () => {
    const me = await other.seed({ projectSlug: 'bridge-init', label: 'slow-client' });
    const peer = await makeAgent(other, 'bridge-init', 'init-peer');
    const child = spawn(process.execPath, [CLI, 'connect', '--verbose'], {
      cwd: ROOT,
      env: env(me.token),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines: Record<string, unknown>[] = [];
    readline
      .createInterface({ input: child.stdout })
      .on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
    try {
      send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      });
      await eventually(() => expect(lines.some((l) => l.id === 1)).toBe(true));
      await eventually(() => expect(stderr).toMatch(/connected to Baton/), 15_000);
      const sent = await peer.call('post', { to_actor: me.actor, body: 'early' });
      await eventually(() => expect(stderr).toMatch(/holding a push/), 15_000);
      expect(lines.filter((l) => l.method === 'notifications/claude/channel')).toEqual([]);

      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      await eventually(
        () =>
          expect(lines.filter((l) => l.method === 'notifications/claude/channel')).toEqual([
            expect.objectContaining({
              params: expect.objectContaining({
                meta: expect.objectContaining({ post_id: String(sent.body.post_id) }),
              }),
            }),
          ]),
        15_000,
      );
    } finally {
      child.stdin.end();
    }
    // The client went away (stdin closed): the bridge ends its remote session and exits.
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
  });

  it('refuses a missing or malformed URL or token with one line', async () => {
    const none = await runCli(['connect'], { PATH: process.env.PATH ?? '' });
    expect(none.code).not.toBe(0);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/BATON_URL.*BATON_TOKEN/);
    const ftp = await runCli(['connect', '--url', 'ftp://example.test/mcp'], { BATON_TOKEN: 'x' });
    expect(ftp.stderr).toMatch(/http\(s\) MCP URL, ending in \/mcp/);
    const root = await runCli(['connect', '--url', 'http://127.0.0.1:1/', '--token', 'a b']);
    expect(root.stderr).toMatch(/ending in \/mcp.*BATON_TOKEN must be the token itself/);
    expect((await runCli(['connect', '--help'])).stdout).toMatch(/BATON_URL/);
  });
});
