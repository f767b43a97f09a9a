import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPostgres, type OwnPostgres } from './helpers/pg.js';
import { call, startTestBaton, type TestBaton } from './helpers/baton.js';
import { callModern, closeModernClients, connectModern } from './helpers/modern.js';
import { eventually } from './helpers/sse.js';

// A database outage is something a model can read and act on: over MCP, in either era, a tool
// call on an open session answers `unavailable` as a tool result (the client library does not
// throw), and the same session works again once the database is back. The REST twin answers
// 503 with Retry-After. A PostgreSQL of this file's own, stopped and started under the server.

let pg: OwnPostgres;
let baton: TestBaton;

beforeAll(async () => {
  pg = await ownPostgres('baton-outage');
  baton = await startTestBaton({ database: { url: pg.url } });
});

afterAll(async () => {
  await closeModernClients();
  await baton?.close();
  await pg?.dispose();
});

describe('with PostgreSQL stopped', () => {
  it('an MCP tool call is an unavailable result in both eras, and the same clients work after', async () => {
    const legacyToken = (await baton.seed({ label: 'outage-2025' })).token;
    const modernToken = (await baton.seed({ label: 'outage-2026' })).token;
    const legacy = await baton.connect(legacyToken, { push: false });
    const modern = await connectModern(baton.mcpUrl, modernToken);
    expect((await call(legacy, 'whoami')).isError).toBe(false);
    expect((await callModern(modern, 'whoami')).isError).toBe(false);

    await pg.stop();
    try {
      for (const outcome of [
        await call(legacy, 'claim', { sequence: 'outage' }),
        await callModern(modern, 'claim', { sequence: 'outage' }),
      ]) {
        expect(outcome.isError).toBe(true);
        expect(outcome.body.error.code).toBe('unavailable');
        expect(outcome.body.error.message).toMatch(/retry shortly/);
      }
      // The catalogue needs no database.
      expect((await legacy.listTools()).tools.length).toBeGreaterThan(10);
      expect((await modern.listTools()).tools.length).toBeGreaterThan(10);
      // The REST twin: 503 with Retry-After.
      const rest = await fetch(`${baton.baseUrl}/api/v1/tools/whoami`, {
        method: 'POST',
        headers: { authorization: `Bearer ${legacyToken}` },
      });
      expect(rest.status).toBe(503);
      expect(Number(rest.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await rest.json()) as any).error.code).toBe('unavailable');
      // A token this process never saw cannot be vouched for: HTTP 503, with Retry-After.
      const unknown = await fetch(baton.mcpUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer baton_${'x'.repeat(43)}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(unknown.status).toBe(503);
      expect(Number(unknown.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await pg.start();
    }

    await eventually(async () => {
      const r = await call(legacy, 'claim', { sequence: 'outage' });
      expect(r.isError, JSON.stringify(r.body)).toBe(false);
    }, 20_000);
    await eventually(async () => {
      const r = await callModern(modern, 'claim', { sequence: 'outage' });
      expect(r.isError, JSON.stringify(r.body)).toBe(false);
    }, 20_000);
    const numbers = [
      (await call(legacy, 'claim', { sequence: 'outage' })).body.number,
      (await callModern(modern, 'claim', { sequence: 'outage' })).body.number,
    ];
    expect(numbers).toEqual([3, 4]);
  });
});
