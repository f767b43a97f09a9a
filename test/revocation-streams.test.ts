import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callOk, startTestBaton, type TestBaton } from './helpers/baton.js';
import { ownPostgres, type OwnPostgres } from './helpers/pg.js';
import { eventually, rawSession, readSse, type SseReader } from './helpers/sse.js';

// Revoking or rotating a token ends that token's open streams at once, on every process: the
// revocation is a ledger event, which every process hears and acts on before it writes any
// later event to those streams. The heartbeat (which also re-checks grants) is set to an hour
// here, so only the event path can end them.

let pg: OwnPostgres;
let a: TestBaton;
let b: TestBaton;
const HOUR = 3_600_000;

beforeAll(async () => {
  pg = await ownPostgres('baton-revoke');
  a = await startTestBaton({ database: { url: pg.url }, streamHeartbeatMs: HOUR });
  b = await startTestBaton({ database: { url: pg.url }, streamHeartbeatMs: HOUR });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await pg?.dispose();
});

/** The two kinds of stream a token can hold: the MCP push stream and the ledger stream. */
async function streamsOf(baton: TestBaton, token: string): Promise<SseReader[]> {
  const auth = { authorization: `Bearer ${token}` };
  const session = await rawSession(baton.mcpUrl, token);
  const mcp = await readSse(baton.mcpUrl, { ...auth, 'mcp-session-id': session });
  const events = await readSse(`${baton.baseUrl}/api/v1/events`, auth);
  expect([mcp.status, events.status]).toEqual([200, 200]);
  return [mcp, events];
}

const ended = (r: SseReader) =>
  Promise.race([r.ended.then(() => true), new Promise((ok) => setTimeout(() => ok(false), 0))]);

describe('revocation ends streams', () => {
  it.each(['admin_revoke', 'admin_rotate'] as const)(
    '%s closes every stream of the old token on both processes; nothing after it arrives',
    async (act) => {
      const slug = `rv-${act.replace('_', '-')}`;
      const admin = await a.seed({ projectSlug: slug, label: 'boss', admin: true });
      const target = await a.seed({ projectSlug: slug, label: 'worker' });
      const bystander = await a.seed({ projectSlug: slug, label: 'bystander' });
      const streams = [
        ...(await streamsOf(a, target.token)),
        ...(await streamsOf(b, target.token)),
      ];
      const others = await streamsOf(b, bystander.token);
      await eventually(() => expect(a.streams.count() + b.streams.count()).toBe(6));

      const boss = await a.connect(admin.token, { push: false });
      await callOk(boss, act, { participant: 'worker' });
      const after = await callOk(boss, 'post', { broadcast: true, body: 'after the revocation' });

      // Every stream of the old token ends, by the event path alone (the heartbeat is an hour).
      for (const s of streams) await eventually(async () => expect(await ended(s)).toBe(true));
      for (const s of others) expect(await ended(s)).toBe(false);
      // None of them saw the post made after the revocation; the bystander's did.
      for (const s of streams) {
        expect(s.events.some((e) => e.data.includes('after the revocation'))).toBe(false);
      }
      await eventually(() =>
        expect(others[1]?.events.some((e) => e.id === String(after.seq))).toBe(true),
      );
      for (const s of others) s.close();
    },
  );
});
