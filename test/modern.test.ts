import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';
import { LEGACY_PROTOCOL_VERSIONS, SUPPORTED_PROTOCOL_VERSIONS } from '../src/mcp/protocol.js';
import { SUPPORTED_PROTOCOL_VERSIONS as SDK1_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { TOOLS } from '../src/tools/index.js';
import { apiOk } from './helpers/agents.js';
import { call, callOk, useTestBaton } from './helpers/baton.js';
import {
  callModern,
  closeModernClients,
  connectModern,
  MODERN,
  modernPost,
} from './helpers/modern.js';

// The modern era (MCP 2026-07-28) on /mcp beside the 2025 era: the official 2.x client, pinned
// or in auto mode, against the same endpoint the 1.x client uses.

const baton = useTestBaton();
afterAll(closeModernClients);

/** Results compared across eras: what differs by nature (times, ids, the project) is masked. */
function masked(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => masked(v, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, k)]));
  }
  if (/(^|_)(id|seq|at|cursor|token|project|acked)$|fencing/.test(key)) return `<${key}>`;
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return '<time>';
  return value;
}

/**
 * Every core tool, in an order that gives each something to do, run by `me` in its own project
 * while a peer (over plain JSON) posts to it and gives it a task.
 */
async function coreScript(
  era: 'modern' | 'legacy',
  callTool: (
    name: string,
    args?: Record<string, unknown>,
  ) => Promise<{ isError: boolean; body: any }>,
  me: { actor: string },
) {
  const peer = await baton.seed({ projectSlug: `eras-${era}`, label: `peer-${era}` });
  const out: [string, unknown][] = [];
  const step = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await callTool(name, args);
    // Names differ only by the era's suffix; the rest must be the same.
    out.push([name, masked(JSON.parse(JSON.stringify(r).replaceAll(`-${era}`, '')))]);
    return r.body;
  };
  await step('whoami');
  await step('register', { lane: 'docs', status: 'writing the guide' });
  await step('who_is_active');
  await step('post', {
    to_actor: peer.actor,
    subject: 'hi',
    body: 'the guide is started',
    ref: 'docs/guide.md',
  });
  const sent = await apiOk(baton, peer.token, 'post', { to_actor: me.actor, body: 'thanks' });
  await step('read_posts', { to_me: true });
  await step('ack', { post_id: sent.post_id });
  await step('whats_new', { limit: 50 });
  await step('claim', { sequence: 'adr' });
  const lease = await step('lease', { surface: 'docs/**', ttl_seconds: 120 });
  await step('who_holds');
  await step('release', { lease_id: lease.lease_id });
  await apiOk(baton, peer.token, 'task_create', { title: 'Proofread the guide', lane: 'docs' });
  const task = await step('task_claim_next', { lane: 'docs' });
  await step('task_ship', { task_id: task.task?.task_id, ref: 'docs/guide.md' });
  await step('status');
  await step('lease', { surface: '' }); // a refusal, to compare errors too
  return out;
}

describe('the 2.x client pinned to 2026-07-28', () => {
  it('discovers the server: versions of both eras, tools and resources with subscriptions, identity and instructions', async () => {
    const { token } = await baton.seed({ label: 'discoverer' });
    const client = await connectModern(baton.mcpUrl, token);
    expect(client.getProtocolEra()).toBe('modern');
    expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
    const discovered = client.getDiscoverResult();
    expect(discovered?.supportedVersions).toEqual(SUPPORTED_PROTOCOL_VERSIONS);
    expect(client.getServerCapabilities()).toEqual({
      tools: { listChanged: false },
      resources: { subscribe: true, listChanged: false },
    });
    expect(client.getServerVersion()).toMatchObject({ name: 'baton' });
    expect(client.getInstructions()).toMatch(/baton:\/\/inbox/);
  });

  it('lists the same tools as a 2025-era client, in the same order, full and core', async () => {
    const { token } = await baton.seed({ label: 'lister' });
    for (const profile of [undefined, 'core'] as const) {
      const modern = await connectModern(baton.mcpUrl, token, { profile });
      const legacy = await baton.connect(token, { profile, push: false });
      const [a, b] = await Promise.all([modern.listTools(), legacy.listTools()]);
      expect(a.tools).toEqual(b.tools);
      expect(a.tools.length).toBe(TOOLS.filter((t) => !profile || t.core).length);
    }
  });

  it('calls every core tool with the same results as a 2025-era client', async () => {
    await baton.seed({ label: 'owner-exists' }); // so neither era's script creates the owner
    const m = await baton.seed({ projectSlug: 'eras-modern', label: 'worker-modern' });
    const l = await baton.seed({ projectSlug: 'eras-legacy', label: 'worker-legacy' });
    const modern = await connectModern(baton.mcpUrl, m.token, { profile: 'core' });
    const legacy = await baton.connect(l.token, { profile: 'core', push: false });
    const viaModern = await coreScript('modern', (n, a) => callModern(modern, n, a), m);
    const viaLegacy = await coreScript('legacy', (n, a) => call(legacy, n, a), l);
    const core = TOOLS.filter((t) => t.core).map((t) => t.name);
    expect(new Set(viaModern.map(([name]) => name))).toEqual(new Set(core));
    expect(viaModern.filter(([, r]) => (r as { isError: boolean }).isError).length).toBe(1);
    expect(viaModern).toEqual(viaLegacy);
  });

  it('answers tool errors as results and unknown tools as a JSON-RPC error, as the 2025 era does', async () => {
    const { token } = await baton.seed({ label: 'erring' });
    const client = await connectModern(baton.mcpUrl, token, { profile: 'core' });
    const bad = await callModern(client, 'post', { body: 'to nobody', extra: 1 });
    expect(bad.isError).toBe(true);
    expect(bad.body.error.code).toBe('invalid_argument');
    await expect(client.callTool({ name: 'list_participants', arguments: {} })).rejects.toThrow(
      /Unknown tool/,
    );
  });
});

describe('auto mode', () => {
  it('selects the modern era, and the 2025 era stays for clients that initialize', async () => {
    const { token } = await baton.seed({ label: 'auto' });
    const client = await connectModern(baton.mcpUrl, token, { mode: 'auto' });
    expect(client.getProtocolEra()).toBe('modern');
    expect((await callModern(client, 'whoami')).body.label).toBe('auto');
    const legacy: LegacyClient = await baton.connect(token, { push: false });
    expect((await callOk(legacy, 'whoami')).label).toBe('auto');
  });

  it('serves every 2025 revision the 1.x client knows', () => {
    for (const v of SDK1_VERSIONS) expect(LEGACY_PROTOCOL_VERSIONS).toContain(v);
  });
});

describe('modern results', () => {
  it('carry resultType and serverInfo; lists carry ttlMs and cacheScope', async () => {
    const { token } = await baton.seed({ label: 'shapes' });
    const list = await modernPost(baton.mcpUrl, token, { method: 'tools/list' });
    expect(list.status).toBe(200);
    expect(list.body.result).toMatchObject({
      resultType: 'complete',
      ttlMs: expect.any(Number),
      cacheScope: 'private',
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'baton' } },
    });
    const call = await modernPost(baton.mcpUrl, token, {
      method: 'tools/call',
      params: { name: 'whoami', arguments: {} },
    });
    expect(call.body.result).toMatchObject({
      resultType: 'complete',
      structuredContent: { label: 'shapes' },
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'baton' } },
    });
    for (const method of ['server/discover', 'resources/list', 'resources/templates/list']) {
      const r = await modernPost(baton.mcpUrl, token, { method });
      expect(r.body.result, method).toMatchObject({
        resultType: 'complete',
        cacheScope: 'private',
      });
    }
    const read = await modernPost(baton.mcpUrl, token, {
      method: 'resources/read',
      params: { uri: 'baton://tasks' },
    });
    expect(read.body.result).toMatchObject({ resultType: 'complete', ttlMs: 0 });
  });

  it('ignore Mcp-Session-Id and Last-Event-ID, and open no session', async () => {
    const { token } = await baton.seed({ label: 'sessionless' });
    const r = await modernPost(
      baton.mcpUrl,
      token,
      { method: 'tools/call', params: { name: 'whoami', arguments: {} } },
      { headers: { 'mcp-session-id': 'no-such-session-0000', 'last-event-id': '42' } },
    );
    expect(r.status).toBe(200);
    expect(r.body.result.structuredContent.label).toBe('sessionless');
    expect(r.headers.get('mcp-session-id')).toBeNull();
  });

  it('GET and DELETE with the modern version header are 405', async () => {
    const { token } = await baton.seed({ label: 'no-get' });
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(baton.mcpUrl, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          'mcp-protocol-version': MODERN,
          'mcp-session-id': 'whatever-it-is-00000',
        },
      });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
  });
});

describe('modern header and _meta rules', () => {
  const whoami = { method: 'tools/call', params: { name: 'whoami', arguments: {} } };
  let token: string;
  const post = (
    headers: Record<string, string | undefined>,
    meta?: Record<string, unknown> | null,
  ) => modernPost(baton.mcpUrl, token, whoami, { headers, meta });
  const expectError = (r: { status: number; body: any }, status: number, code: number) => {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body.error.code, JSON.stringify(r.body)).toBe(code);
    expect(r.body.id).toBe(1);
  };

  it('refuses a missing or mismatched Mcp-Method with 400 -32020', async () => {
    token = (await baton.seed({ label: 'headers' })).token;
    expectError(await post({ 'mcp-method': undefined }), 400, -32020);
    expectError(await post({ 'mcp-method': 'tools/list' }), 400, -32020);
  });

  it('refuses a missing or mismatched Mcp-Name, plain or base64, with 400 -32020', async () => {
    expectError(await post({ 'mcp-name': undefined }), 400, -32020);
    expectError(await post({ 'mcp-name': 'status' }), 400, -32020);
    const b64 = (s: string) => `=?base64?${Buffer.from(s).toString('base64')}?=`;
    expectError(await post({ 'mcp-name': b64('status') }), 400, -32020);
    expectError(await post({ 'mcp-name': '=?base64?not base64!?=' }), 400, -32020);
    // The base64 form of the right name is the right name.
    const ok = await post({ 'mcp-name': b64('whoami') });
    expect(ok.status).toBe(200);
    expect(ok.body.result.structuredContent.label).toBe('headers');
    // resources/read mirrors the URI.
    const read = await modernPost(
      baton.mcpUrl,
      token,
      { method: 'resources/read', params: { uri: 'baton://inbox' } },
      { headers: { 'mcp-name': 'baton://leases' } },
    );
    expectError(read, 400, -32020);
  });

  it('refuses a missing or mismatched MCP-Protocol-Version with 400 -32020', async () => {
    expectError(await post({ 'mcp-protocol-version': undefined }), 400, -32020);
    expectError(await post({ 'mcp-protocol-version': '2025-11-25' }), 400, -32020);
    expectError(
      await post(
        {},
        {
          'io.modelcontextprotocol/protocolVersion': '2025-11-25',
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      ),
      400,
      -32020,
    );
  });

  it('refuses an unknown version with 400 -32022 listing the supported ones, in either era', async () => {
    const unknown = await post({ 'mcp-protocol-version': '2099-01-01' });
    expectError(unknown, 400, -32022);
    expect(unknown.body.error.data).toEqual({
      supported: SUPPORTED_PROTOCOL_VERSIONS,
      requested: '2099-01-01',
    });
    // A request without modern _meta takes the 2025 path, and gets the same answer.
    const legacy = await fetch(baton.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '1999-01-01',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
    });
    expect(legacy.status).toBe(400);
    const body = (await legacy.json()) as any;
    expect(body.error.code).toBe(-32022);
    expect(body.error.data.supported).toContain(MODERN);
    expect(body.id).toBe(7);
  });

  it('refuses _meta without the client capabilities with 400 -32602', async () => {
    expectError(await post({}, null), 400, -32602);
    expectError(await post({}, { 'io.modelcontextprotocol/protocolVersion': MODERN }), 400, -32602);
  });

  it('answers an unknown method with 404 -32601, and a batch with 400', async () => {
    const r = await modernPost(baton.mcpUrl, token, { method: 'ping' });
    expectError(r, 404, -32601);
    const batch = await fetch(baton.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/list',
      },
      body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }]),
    });
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as any).error.code).toBe(-32600);
  });
});

describe('resources', () => {
  it('the inbox is read_posts(to_me, unacked_only); reading it marks posts delivered, not acked', async () => {
    const me = await baton.seed({ projectSlug: 'res', label: 'reader' });
    const peer = await baton.seed({ projectSlug: 'res', label: 'writer' });
    const client: Client = await connectModern(baton.mcpUrl, me.token);
    const sent = await apiOk(baton, peer.token, 'post', {
      to_actor: me.actor,
      body: 'please review',
    });
    const before = await apiOk(baton, peer.token, 'read_posts', { sent: true });
    expect(before.posts[0].receipts.delivered).toEqual([]);

    const read = await client.readResource({ uri: 'baton://inbox' });
    const inbox = JSON.parse((read.contents[0] as { text: string }).text);
    expect(read.contents[0]).toMatchObject({ uri: 'baton://inbox', mimeType: 'application/json' });
    expect(inbox.posts.map((p: { post_id: number }) => p.post_id)).toEqual([sent.post_id]);
    const after = await apiOk(baton, peer.token, 'read_posts', { sent: true });
    expect(after.posts[0].receipts).toEqual({
      delivered: [me.actor],
      acked: [],
      not_acked: [me.actor],
    });
    // Acked posts leave the inbox.
    await callModern(client, 'ack', { post_id: sent.post_id });
    const again = await client.readResource({ uri: 'baton://inbox' });
    expect(JSON.parse((again.contents[0] as { text: string }).text).posts).toEqual([]);
  });

  it('lists the three views and refuses an unknown URI with -32602', async () => {
    const { token } = await baton.seed({ label: 'resources' });
    const client = await connectModern(baton.mcpUrl, token);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual([
      'baton://inbox',
      'baton://leases',
      'baton://tasks',
    ]);
    await expect(client.readResource({ uri: 'baton://elsewhere' })).rejects.toThrow(
      /Resource not found/,
    );
  });
});
