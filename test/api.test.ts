import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { AppError, ERROR_STATUS, type ErrorCode } from '../src/errors.js';
import { buildCatalogue } from '../src/mcp/catalogue.js';
import { TOOLS } from '../src/tools/index.js';
import { defineTool } from '../src/tools/types.js';
import { call, useTestBaton } from './helpers/baton.js';

// Tools that exist only in this test's catalogue, to drive every error path of the edges.
const failing = defineTool({
  name: 'test_fail',
  title: 'Fail on purpose',
  description: 'Throws the AppError whose code it is given.',
  input: z.strictObject({ code: z.string().max(40) }),
  annotations: { readOnlyHint: true },
  handler: async (_env, { code }) => {
    if (code === 'crash')
      throw new Error('select secret_column from secret_table -- internal detail');
    if (code === 'pg_nul')
      throw Object.assign(new Error('invalid byte sequence'), { code: '22021' });
    throw new AppError(code as ErrorCode, `failed with ${code}`, { hint: 'extra' });
  },
});
const needsAdmin = defineTool({
  name: 'test_admin_only',
  title: 'Admins only',
  description: 'Only admins may call this.',
  input: z.strictObject({}),
  annotations: { readOnlyHint: true },
  admin: true,
  handler: async () => ({ ok: true }),
});

const baton = useTestBaton({ catalogue: buildCatalogue([...TOOLS, failing, needsAdmin]) });

async function api(token: string, name: string, body?: unknown, init: RequestInit = {}) {
  const res = await fetch(`${baton.baseUrl}/api/v1/tools/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,

    body: JSON.parse(text) as Record<string, any>,
    text,
  };
}

describe('POST /api/v1/tools/<name>', () => {
  it('answers whoami with exactly the object MCP puts in structuredContent', async () => {
    const seeded = await baton.seed({ label: 'twin' });
    const client = await baton.connect(seeded.token);
    const viaMcp = await call(client, 'whoami');
    const viaApi = await api(seeded.token, 'whoami', {});
    expect(viaApi.status).toBe(200);
    expect(viaApi.body).toEqual(viaMcp.body);
    expect((await api(seeded.token, 'whoami')).body).toEqual(viaMcp.body); // empty body = no arguments
  });

  it('answers an unknown tool with a 404 JSON error', async () => {
    const { token } = await baton.seed();
    const r = await api(token, 'no_such_tool', {});
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });

  it('maps every domain error code to its status through the one table', async () => {
    const { token } = await baton.seed();
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      if (code === 'internal') continue;
      const r = await api(token, 'test_fail', { code });
      expect(r.status, code).toBe(status);
      expect(r.body.error).toEqual({ code, message: `failed with ${code}`, hint: 'extra' });
    }
  });

  it('shows an internal fault only as a request id, never its detail', async () => {
    const { token } = await baton.seed();
    const r = await api(token, 'test_fail', { code: 'crash' });
    expect(r.status).toBe(500);
    expect(r.body.error.code).toBe('internal');
    expect(r.body.error.message).toContain(r.headers.get('x-request-id'));
    expect(r.text).not.toMatch(/secret|select|at .*\.ts/);
  });

  it('translates a PostgreSQL bad-text error to invalid_argument', async () => {
    const { token } = await baton.seed();
    const r = await api(token, 'test_fail', { code: 'pg_nul' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_argument');
  });

  it('returns validation failures as 400 invalid_argument naming the field and what is allowed', async () => {
    const { token } = await baton.seed();
    const r = await api(token, 'test_fail', { code: 'x'.repeat(41) });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_argument');
    expect(r.body.error.fields).toEqual([{ field: 'code', problem: expect.stringMatching(/40/) }]);
    const missing = await api(token, 'test_fail', {});
    expect(missing.body.error.message).toMatch(/code: is required/);
  });

  it('refuses bodies that are not a JSON object, and bodies over 1 MiB', async () => {
    const { token } = await baton.seed();
    const bad = await api(token, 'whoami', '{"unterminated":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_argument');
    const arr = await api(token, 'whoami', '[1,2]');
    expect(arr.status).toBe(400);
    const big = await api(token, 'whoami', JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }));
    expect(big.status).toBe(413);
  });

  it('refuses admin-only tools to non-admins with forbidden, and allows admins', async () => {
    const member = await baton.seed({ projectSlug: 'gated', label: 'member' });
    const admin = await baton.seed({ projectSlug: 'gated', label: 'boss', admin: true });
    const refused = await api(member.token, 'test_admin_only', {});
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    expect((await api(admin.token, 'test_admin_only', {})).status).toBe(200);
  });

  it('reports the same errors over MCP as isError results', async () => {
    const { token } = await baton.seed();
    const client = await baton.connect(token);
    const r = await call(client, 'test_fail', { code: 'conflict' });
    expect(r.isError).toBe(true);
    expect(r.body.error).toEqual({
      code: 'conflict',
      message: 'failed with conflict',
      hint: 'extra',
    });
  });
});

describe('/mcp request limits', () => {
  it('answers malformed JSON with a JSON-RPC parse error', async () => {
    const { token } = await baton.seed();
    const res = await fetch(`${baton.baseUrl}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0",',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { jsonrpc: string; id: null; error: { code: number } };
    expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it('answers a body over 1 MiB with 413', async () => {
    const { token } = await baton.seed();
    const res = await fetch(`${baton.baseUrl}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'ping',
        params: { pad: 'x'.repeat(1024 * 1024) },
      }),
    });
    expect(res.status).toBe(413);
  });

  it('puts an x-request-id on every response and answers unknown routes with JSON 404', async () => {
    const res = await fetch(`${baton.baseUrl}/nowhere`);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('refuses browser requests from origins that are not allowed', async () => {
    const { token } = await baton.seed();
    const res = await fetch(`${baton.baseUrl}/api/v1/tools/whoami`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, origin: 'http://evil.example' },
    });
    expect(res.status).toBe(403);
  });
});
