import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { useTestBaton } from './helpers/baton.js';

const baton = useTestBaton();

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'raw', version: '1' },
  },
};

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${baton.baseUrl}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function expectChallenge(res: Response) {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toContain(
    `Bearer resource_metadata="${baton.config.publicUrl}/.well-known/oauth-protected-resource/mcp"`,
  );
  expect(res.headers.get('x-request-id')).toBeTruthy();
  const body = (await res.json()) as { error: { message: string } };
  expect(body.error.message).toMatch(/token/);
}

describe('bearer authentication', () => {
  it('answers missing, malformed and unknown tokens with 401 and the challenge', async () => {
    await expectChallenge(await post('/mcp', INIT));
    await expectChallenge(await post('/mcp', INIT, { authorization: 'Bearer not-a-token' }));
    await expectChallenge(await post('/mcp', INIT, { authorization: 'Basic dXNlcjpwYXNz' }));
    await expectChallenge(await post('/mcp', INIT, bearer(`baton_${'A'.repeat(43)}`)));
    await expectChallenge(
      await post('/api/v1/tools/whoami', {}, bearer(`baton_${'B'.repeat(43)}`)),
    );
  });

  it('serves the protected-resource metadata at both well-known paths', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const res = await fetch(`${baton.baseUrl}${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        resource: `${baton.config.publicUrl}/mcp`,
        bearer_methods_supported: ['header'],
      });
    }
  });

  it('refuses a revoked token on its very next request', async () => {
    const admin = await baton.seed({ label: 'revoker', admin: true });
    const seeded = await baton.seed({ label: 'soon-revoked' });
    const client = await baton.connect(seeded.token);
    // Used twice, so this process resolves it from memory by now.
    for (let i = 0; i < 2; i++) {
      expect((await client.callTool({ name: 'whoami', arguments: {} })).isError).toBeFalsy();
    }
    const revoked = await post(
      '/api/v1/tools/admin_revoke',
      { participant: 'soon-revoked' },
      {
        ...bearer(admin.token),
      },
    );
    expect(revoked.status).toBe(200);
    await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toMatchObject({
      code: 401,
    });
    await expectChallenge(await post('/api/v1/tools/whoami', {}, bearer(seeded.token)));
  });

  it('refuses an expired token', async () => {
    const seeded = await baton.seed({ label: 'expired' });
    await baton.storage.db
      .updateTable('tokens')
      .set({ expires_at: sql`now() - interval '1 second'` })
      .where('token_hash', '=', createHash('sha256').update(seeded.token).digest())
      .execute();
    await expectChallenge(await post('/api/v1/tools/whoami', {}, bearer(seeded.token)));
  });
});

describe('MCP sessions', () => {
  it('binds a session to the participation that opened it', async () => {
    const a = await baton.seed({ label: 'opener' });
    const b = await baton.seed({ label: 'intruder' });
    const init = await post('/mcp', INIT, bearer(a.token));
    expect(init.status).toBe(200);
    const sessionId = init.headers.get('mcp-session-id');
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };

    const own = await post('/mcp', list, {
      ...bearer(a.token),
      'mcp-session-id': sessionId as string,
    });
    expect(own.status).toBe(200);

    const other = await post('/mcp', list, {
      ...bearer(b.token),
      'mcp-session-id': sessionId as string,
    });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { message: string } }).error.message).toMatch(
      /another identity/,
    );

    // A token of another project cannot even see that the session exists.
    const c = await baton.seed({ projectSlug: 'other-project', label: 'stranger' });
    const foreign = await post('/mcp', list, {
      ...bearer(c.token),
      'mcp-session-id': sessionId as string,
    });
    expect(foreign.status).toBe(404);
  });

  it('ends a session on DELETE; the id is then unknown', async () => {
    const a = await baton.seed({ label: 'deleter' });
    const init = await post('/mcp', INIT, bearer(a.token));
    const sessionId = init.headers.get('mcp-session-id') as string;
    const del = await fetch(`${baton.baseUrl}/mcp`, {
      method: 'DELETE',
      headers: { ...bearer(a.token), 'mcp-session-id': sessionId },
    });
    expect(del.status).toBe(204);
    const after = await post(
      '/mcp',
      { jsonrpc: '2.0', id: 3, method: 'ping' },
      { ...bearer(a.token), 'mcp-session-id': sessionId },
    );
    expect(after.status).toBe(404);
    expect(((await after.json()) as { error: { code: number } }).error.code).toBe(-32001);
  });

  it('answers notifications with 202 and negotiates the protocol version', async () => {
    const a = await baton.seed();
    const init = await post('/mcp', INIT, bearer(a.token));
    expect(
      ((await init.json()) as { result: { protocolVersion: string } }).result.protocolVersion,
    ).toBe('2025-06-18');
    const sessionId = init.headers.get('mcp-session-id') as string;
    const note = await post(
      '/mcp',
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { ...bearer(a.token), 'mcp-session-id': sessionId },
    );
    expect(note.status).toBe(202);
    const odd = await post(
      '/mcp',
      { ...INIT, params: { ...INIT.params, protocolVersion: '1999-01-01' } },
      bearer(a.token),
    );
    expect(
      ((await odd.json()) as { result: { protocolVersion: string } }).result.protocolVersion,
    ).toMatch(/^20\d\d-/);
  });
});

describe('token storage', () => {
  it('keeps only sha-256 hashes of tokens', async () => {
    const seeded = await baton.seed({ label: 'hashed' });
    const body = seeded.token.slice('baton_'.length);
    const { rows } = await sql<{
      row: string;
      hash: Buffer;
    }>`select row_to_json(t)::text as row, token_hash as hash from tokens t`.execute(
      baton.storage.db,
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.hash.length).toBe(32);
      expect(r.row).not.toContain(body);
    }
    const digest = createHash('sha256').update(seeded.token).digest();
    expect(rows.some((r) => r.hash.equals(digest))).toBe(true);
    // And no other table holds the token either (the ledger records the mint without it).
    const { rows: events } = await sql<{
      data: string;
    }>`select data::text as data from events`.execute(baton.storage.db);
    for (const e of events) expect(e.data).not.toContain(body);
  });
});
