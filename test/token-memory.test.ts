import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_CHANNEL, notifyAccessChanged } from '../src/db/ledger.js';
import { onCommittedNotice, openStorage, transact } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { callApi } from './helpers/agents.js';
import { accessNoticesHeard, callOk, startTestBaton, type TestBaton } from './helpers/baton.js';
import { readMetrics } from './helpers/http.js';
import { ownPostgres, type OwnPostgres } from './helpers/pg.js';
import { tcpProxy, type TcpProxy } from './helpers/proxy.js';
import { eventually, rawSession } from './helpers/sse.js';

// A token costs one lookup, then none: each process resolves the tokens it confirmed lately
// from memory, as long as its ledger listener hears. Two servers on one PostgreSQL of this
// file's own stand for two processes: each has its own pool, listener and memory, and learns of
// the other's changes only through the listener. The memory trusts an entry for a minute, and
// every wait here is far shorter, so a refusal on the other server can only come from the
// change's notice. The work is counted (token lookups, from /metrics), never timed.

let pg: OwnPostgres;
let a: TestBaton;
let b: TestBaton;
let proxy: TcpProxy;

beforeAll(async () => {
  pg = await ownPostgres('baton-token-memory');
  proxy = await tcpProxy({ host: '127.0.0.1', port: Number(new URL(pg.url).port) });
  const viaProxy = new URL(pg.url);
  viaProxy.port = String(proxy.port);
  a = await startTestBaton({ database: { url: pg.url } });
  // b's listener reaches PostgreSQL through a proxy the test can cut; its pool goes direct.
  b = await startTestBaton({ database: { url: pg.url }, listenerUrl: viaProxy.toString() });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await proxy?.close();
  await pg?.dispose();
});

/** Token resolutions of a server so far, by source. */
async function resolutions(baton: TestBaton) {
  const sample = await readMetrics(baton.config.port);
  const count = (source: string) =>
    sample('baton_token_resolutions_total', `{source="${source}"}`) ?? 0;
  return { database: count('database'), memory: count('memory') };
}

/** A 2025-era MCP request on a session, as raw HTTP: its status and JSON-RPC body. */
async function ping(baton: TestBaton, token: string, sessionId: string) {
  const res = await fetch(baton.mcpUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'mcp-session-id': sessionId,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  return res.status;
}

describe('token memory', () => {
  it('looks a token up once, then resolves it from memory, sessions included', async () => {
    const { token } = await a.seed({ projectSlug: 'tm-once', label: 'caller' });
    await accessNoticesHeard(a);
    const client = await a.connect(token, { push: false });
    await callOk(client, 'whoami');
    const before = await resolutions(a);
    for (let i = 0; i < 20; i++) await callOk(client, 'claim', { sequence: 'once' });
    const after = await resolutions(a);
    expect(after.database - before.database).toBe(0);
    expect(after.memory - before.memory).toBe(20);
  });

  it('looks every token up while the listener does not hear, and trusts memory again once it does', async () => {
    const { token } = await b.seed({ projectSlug: 'tm-deaf', label: 'caller' });
    expect((await callApi(b, token, 'whoami')).status).toBe(200);
    proxy.block();
    try {
      await eventually(() => expect(b.listener.hearing).toBe(false));
      const before = await resolutions(b);
      for (let i = 0; i < 10; i++) expect((await callApi(b, token, 'whoami')).status).toBe(200);
      const after = await resolutions(b);
      expect(after.database - before.database).toBe(10);
      expect(after.memory - before.memory).toBe(0);
    } finally {
      proxy.unblock();
    }
    await eventually(() => expect(b.listener.hearing).toBe(true));
    expect((await callApi(b, token, 'whoami')).status).toBe(200); // confirmed again
    const before = await resolutions(b);
    for (let i = 0; i < 10; i++) expect((await callApi(b, token, 'whoami')).status).toBe(200);
    expect((await resolutions(b)).database - before.database).toBe(0);
  });

  it.each(['admin_revoke', 'admin_rotate'] as const)(
    '%s through one process: refused there at once, and on the other by the notice',
    async (act) => {
      const slug = `tm-${act.replace('_', '-')}`;
      const admin = await a.seed({ projectSlug: slug, label: 'boss', admin: true });
      const target = await a.seed({ projectSlug: slug, label: 'worker' });
      const bystander = await a.seed({ projectSlug: slug, label: 'bystander' });
      await Promise.all([accessNoticesHeard(a), accessNoticesHeard(b)]);
      for (const baton of [a, b]) {
        for (const t of [target, bystander]) {
          expect((await callApi(baton, t.token, 'whoami')).status).toBe(200);
        }
      }
      const before = await resolutions(b);
      expect((await callApi(b, target.token, 'whoami')).status).toBe(200);
      expect((await resolutions(b)).database).toBe(before.database); // from memory

      expect((await callApi(a, admin.token, act, { participant: 'worker' })).status).toBe(200);
      expect((await callApi(a, target.token, 'whoami')).status).toBe(401);
      await eventually(async () =>
        expect((await callApi(b, target.token, 'whoami')).status).toBe(401),
      );
      // The project's other tokens are looked up again once, and still work.
      expect((await callApi(b, bystander.token, 'whoami')).status).toBe(200);
    },
  );

  it('a lane or a right that changes shows at once here and soon on the other process', async () => {
    const { token } = await a.seed({ projectSlug: 'tm-lane', label: 'mover' });
    for (const baton of [a, b]) {
      expect((await callApi(baton, token, 'whoami')).body.lane).toBeNull();
    }
    expect((await callApi(a, token, 'register', { lane: 'backend' })).status).toBe(200);
    expect((await callApi(a, token, 'whoami')).body.lane).toBe('backend');
    await eventually(async () =>
      expect((await callApi(b, token, 'whoami')).body.lane).toBe('backend'),
    );
  });

  it('a session ended through one process is refused there at once, and soon on the other', async () => {
    const { token } = await a.seed({ projectSlug: 'tm-session', label: 'sessioned' });
    const sessionId = await rawSession(a.mcpUrl, token);
    for (const baton of [a, b, a, b]) expect(await ping(baton, token, sessionId)).toBe(200);
    const ended = await fetch(a.mcpUrl, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId },
    });
    expect(ended.status).toBe(204);
    expect(await ping(a, token, sessionId)).toBe(404);
    await eventually(async () => expect(await ping(b, token, sessionId)).toBe(404));
    // The token itself still works, with a new session.
    expect(await ping(b, token, await rawSession(b.mcpUrl, token))).toBe(200);
  });
});

describe('the process that commits an access change', () => {
  it('learns of it when the COMMIT returns, before its caller goes on; never of a rollback', async () => {
    const storage = openStorage({ url: pg.url, max: 2, log: createLogger('silent') });
    const seen: string[] = [];
    const stop = onCommittedNotice(storage.pool, ACCESS_CHANNEL, (p) => seen.push(p));
    try {
      await transact(storage.db, (trx) => notifyAccessChanged(trx, '41'));
      expect(seen).toEqual(['41']);
      await expect(
        transact(storage.db, async (trx) => {
          await notifyAccessChanged(trx, '42');
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(seen).toEqual(['41']);
    } finally {
      stop();
      await storage.close();
    }
  });
});
