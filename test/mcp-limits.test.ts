import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SESSIONS_PER_PARTICIPATION } from '../src/db/sessions.js';
import { MAX_STREAMS_PER_PARTICIPATION } from '../src/http/streams.js';
import { LIMITED_BODY_BYTES, MAX_BATCH_MESSAGES } from '../src/mcp/transport.js';
import { postTool } from './helpers/agents.js';
import { startTestBaton, useTestBaton, type TestBaton } from './helpers/baton.js';
import { closeModernClients, connectModern, modernPost } from './helpers/modern.js';
import { readSse } from './helpers/sse.js';

// Bounded work and state per token on /mcp: JSON-RPC batches (gone from 2025-06-18 on, charged
// per message before), sessions per identity, streams per identity, and Retry-After whenever a
// request is turned away for now.

const baton = useTestBaton();
let limited: TestBaton;
beforeAll(async () => {
  // 2 requests a second, burst 10.
  limited = await startTestBaton({ env: { BATON_RATE_LIMIT: '2' } });
});
afterAll(async () => {
  await closeModernClients();
  await limited?.close();
});

const headers = (token: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  ...extra,
});

/** An initialize request of the 2025 era, at `version`. */
const initialize = (b: TestBaton, token: string, version = '2025-11-25') =>
  fetch(b.mcpUrl, {
    method: 'POST',
    headers: headers(token),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: version,
        capabilities: {},
        clientInfo: { name: 'limits', version: '1' },
      },
    }),
  });

/** A 2025-era session negotiated at `version`; later requests carry that version's header. */
async function session(b: TestBaton, token: string, version: string) {
  const res = await initialize(b, token, version);
  expect(res.status).toBe(200);
  expect(((await res.json()) as any).result.protocolVersion).toBe(version);
  const id = res.headers.get('mcp-session-id') as string;
  // 2025-03-26 predates the MCP-Protocol-Version header.
  const versionHeader: Record<string, string> =
    version >= '2025-06-18' ? { 'mcp-protocol-version': version } : {};
  return (body: unknown) =>
    fetch(b.mcpUrl, {
      method: 'POST',
      headers: headers(token, { 'mcp-session-id': id, ...versionHeader }),
      body: JSON.stringify(body),
    });
}

const claims = (n: number, sequence: string) =>
  Array.from({ length: n }, (_, i) => ({
    jsonrpc: '2.0',
    id: i + 1,
    method: 'tools/call',
    params: { name: 'claim', arguments: { sequence } },
  }));

async function claimed(b: TestBaton, sequence: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from claims where sequence = ${sequence}`.execute(b.storage.db);
  return rows[0]?.n ?? 0;
}

describe('JSON-RPC batches', () => {
  it('are refused on a 2025-11-25 session: nothing runs', async () => {
    const { token } = await limited.seed({ label: 'batch-new' });
    const post = await session(limited, token, '2025-11-25');
    const res = await post(claims(1_000, 'batch-new'));
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toMatch(/batches were removed in protocol 2025-06-18/);
    expect(await claimed(limited, 'batch-new')).toBe(0);
  });

  it('on a 2025-03-26 session run no more messages than the bucket holds; the rest are rate_limited', async () => {
    const { token } = await limited.seed({ label: 'batch-old' });
    const post = await session(limited, token, '2025-03-26');
    const res = await post(claims(1_000, 'batch-old'));
    expect(res.status).toBe(200);
    const replies = (await res.json()) as any[];
    expect(replies).toHaveLength(1_000);
    const ran = replies.filter((r) => !r.result.isError);
    const refused = replies.filter((r) => r.result.isError);
    expect(refused.every((r) => r.result.structuredContent.error.code === 'rate_limited')).toBe(
      true,
    );
    // The bucket held at most its burst of 10 (the initialize took one); refilling at 2 a
    // second adds at most one while the batch was read.
    expect(ran.length).toBeGreaterThan(0);
    expect(ran.length).toBeLessThanOrEqual(10);
    expect(ran.length + refused.length).toBe(1_000);
    expect(await claimed(limited, 'batch-old')).toBe(ran.length);
  });

  it(`hold at most ${MAX_BATCH_MESSAGES} messages`, async () => {
    const { token } = await baton.seed({ label: 'batch-big' });
    const post = await session(baton, token, '2025-03-26');
    const res = await post(claims(MAX_BATCH_MESSAGES + 1, 'batch-big'));
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toMatch(/at most 1000 messages/);
    expect(await claimed(baton, 'batch-big')).toBe(0);
    // Within the limit, with the limiter off, all of them run.
    const ok = (await (await post(claims(50, 'batch-big'))).json()) as any[];
    expect(ok.filter((r) => !r.result.isError)).toHaveLength(50);
  });
});

describe('a rate-limited caller', () => {
  it(`is refused with HTTP 429 unread when its body exceeds ${LIMITED_BODY_BYTES / 1024} KiB, and with a tool result when it is small`, async () => {
    const { token } = await limited.seed({ label: 'limited-bodies' });
    const post = await session(limited, token, '2025-11-25');
    const whoami = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'whoami' } };
    // Empty the bucket (burst 10, refilling at 2 a second): call until refused.
    let small: any;
    for (let i = 0; i < 50; i++) {
      small = await (await post(whoami)).json();
      if (small.result.isError) break;
    }
    expect(small.id).toBe(7);
    expect(small.result.structuredContent.error.code).toBe('rate_limited');
    // Not JSON at all: were it read and parsed, the answer would be a 400 parse error.
    const big = await fetch(limited.mcpUrl, {
      method: 'POST',
      headers: headers(token, { 'mcp-protocol-version': '2025-11-25' }),
      body: `{"jsonrpc":${'x'.repeat(LIMITED_BODY_BYTES)}`,
    });
    expect(big.status).toBe(429);
    expect(Number(big.headers.get('retry-after'))).toBeGreaterThan(0);
    const refusal = (await big.json()) as any;
    expect(refusal.id).toBeNull();
    expect(refusal.error.message).toMatch(/too many requests for this token/);
    // The same body with the limiter off is read, and refused as what it is.
    const { token: free } = await baton.seed({ label: 'unlimited-bodies' });
    const parsed = await fetch(baton.mcpUrl, {
      method: 'POST',
      headers: headers(free, { 'mcp-protocol-version': '2025-11-25' }),
      body: `{"jsonrpc":${'x'.repeat(LIMITED_BODY_BYTES)}`,
    });
    expect(parsed.status).toBe(400);
    expect(((await parsed.json()) as any).error.code).toBe(-32700);
  });
});

describe('sessions per identity', () => {
  it(`are at most ${MAX_SESSIONS_PER_PARTICIPATION}: the least recently used ends`, async () => {
    const { token } = await baton.seed({ label: 'many-sessions' });
    const posts = [];
    for (let i = 0; i <= MAX_SESSIONS_PER_PARTICIPATION; i++) {
      posts.push(await session(baton, token, '2025-11-25'));
    }
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    expect((await (posts[0] as (b: unknown) => Promise<Response>)(list)).status).toBe(404);
    expect((await (posts[1] as (b: unknown) => Promise<Response>)(list)).status).toBe(200);
    expect((await (posts.at(-1) as (b: unknown) => Promise<Response>)(list)).status).toBe(200);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from mcp_sessions s
      join participations pa on pa.project_id = s.project_id and pa.id = s.participation_id
      join participants p on p.id = pa.participant_id
      where p.label = 'many-sessions' and s.closed_at is null`.execute(baton.storage.db);
    expect(rows[0]?.n).toBe(MAX_SESSIONS_PER_PARTICIPATION);
  });

  it('opened by many clients at once all succeed, and the limit still holds exactly', async () => {
    // Each opening ends the rows beyond the limit; without turns, concurrent openings end each
    // other's rows in crossing orders and PostgreSQL breaks the deadlock with a 503.
    const { token } = await baton.seed({ label: 'sessions-at-once' });
    // At the limit already, so that every opening below ends one.
    for (let i = 0; i < MAX_SESSIONS_PER_PARTICIPATION; i++) {
      await session(baton, token, '2025-11-25');
    }
    const atOnce = 200;
    const rounds = 3;
    const statuses: number[] = [];
    for (let round = 0; round < rounds; round++) {
      statuses.push(
        ...(await Promise.all(
          Array.from({ length: atOnce }, () =>
            initialize(baton, token).then(async (res) => {
              await res.text();
              return res.status;
            }),
          ),
        )),
      );
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const { rows } = await sql<{ open: number; all: number }>`
      select count(*) filter (where s.closed_at is null)::int as open, count(*)::int as all
      from mcp_sessions s
      join participations pa on pa.project_id = s.project_id and pa.id = s.participation_id
      join participants p on p.id = pa.participant_id
      where p.label = 'sessions-at-once'`.execute(baton.storage.db);
    expect(rows[0]).toEqual({
      open: MAX_SESSIONS_PER_PARTICIPATION,
      all: MAX_SESSIONS_PER_PARTICIPATION + atOnce * rounds,
    });
  });
});

describe('Retry-After', () => {
  it(`comes with the 429 for stream ${MAX_STREAMS_PER_PARTICIPATION + 1}, in both eras`, async () => {
    const { token } = await baton.seed({ label: 'many-streams' });
    const readers = [];
    for (let i = 0; i < MAX_STREAMS_PER_PARTICIPATION; i++) {
      const res = await initialize(baton, token);
      await res.body?.cancel();
      const id = res.headers.get('mcp-session-id') as string;
      readers.push(
        await readSse(baton.mcpUrl, { authorization: `Bearer ${token}`, 'mcp-session-id': id }),
      );
    }
    expect(readers.every((r) => r.status === 200)).toBe(true);
    const res = await initialize(baton, token);
    await res.body?.cancel();
    const get = await fetch(baton.mcpUrl, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'text/event-stream',
        'mcp-session-id': res.headers.get('mcp-session-id') as string,
      },
    });
    expect(get.status).toBe(429);
    expect(Number(get.headers.get('retry-after'))).toBeGreaterThan(0);
    // A modern listen stream counts against the same bound.
    const listen = await modernPost(baton.mcpUrl, token, {
      method: 'subscriptions/listen',
      params: { notifications: { resourceSubscriptions: ['baton://inbox'] } },
    });
    expect(listen.status).toBe(429);
    expect(Number(listen.headers.get('retry-after'))).toBeGreaterThan(0);
    for (const r of readers) r.close();
  });

  it('comes with every rate-limited modern request; a tool call is answered as a result', async () => {
    const { token } = await limited.seed({ label: 'modern-limited' });
    const client = await connectModern(limited.mcpUrl, token);
    let outcome: any;
    for (let i = 0; i < 20 && !outcome?.isError; i++) {
      outcome = await client.callTool({ name: 'whoami', arguments: {} });
    }
    expect(outcome.isError).toBe(true);
    expect(outcome.structuredContent.error).toMatchObject({ code: 'rate_limited' });
    const list = await modernPost(limited.mcpUrl, token, { method: 'tools/list' });
    expect(list.status).toBe(429);
    expect(Number(list.headers.get('retry-after'))).toBeGreaterThan(0);
    const api = await fetch(`${limited.baseUrl}/api/v1/tools/whoami`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(api.status).toBe(429);
    expect(Number(api.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('rate limits that count work', () => {
  // One request costs one, plus one for each 64 KiB it sends or is answered with: a token that
  // sends megabyte bodies spends its bucket in a few calls, not a hundred.
  it('charge a large body and a large answer to the token, over REST and MCP', async () => {
    const slow = await startTestBaton({ env: { BATON_RATE_LIMIT: '1' } });
    try {
      const a = await slow.seed({ label: 'big-bodies' });
      const b = await slow.seed({ label: 'small-calls' });
      const api = (token: string, name: string, args: Record<string, unknown>) =>
        postTool(slow, token, name, args);
      // About 400 KiB of paths: six requests' worth beyond the call itself, more than the burst.
      const paths = Array.from({ length: 800 }, (_, i) => `src/${'d'.repeat(480)}/${i}.ts`);
      expect((await api(a.token, 'check_paths', { paths })).status).toBe(200);
      const next = await api(a.token, 'whoami', {});
      expect(next.status).toBe(429);
      expect(Number(next.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another token's bucket is its own: five small calls go through.
      for (let i = 0; i < 5; i++) expect((await api(b.token, 'whoami', {})).status).toBe(200);
      // Over MCP, the same body is charged the same way.
      const c = await slow.seed({ label: 'big-mcp' });
      const client = await slow.connect(c.token, { push: false });
      const big = await client.callTool({ name: 'check_paths', arguments: { paths } });
      expect(big.isError).toBeFalsy();
      const after = await client.callTool({ name: 'whoami', arguments: {} });
      expect(after.isError).toBe(true);
      expect((after.structuredContent as any).error.code).toBe('rate_limited');
    } finally {
      await slow.close();
    }
  });
});

describe('rate limits that count matching work', () => {
  it('charge a call that spends the matching budget to the token that made it', async () => {
    const slow = await startTestBaton({ env: { BATON_RATE_LIMIT: '1' } });
    try {
      const holder = await slow.seed({ projectSlug: 'costly', label: 'holder' });
      const prober = await slow.seed({ projectSlug: 'costly', label: 'prober' });
      const api = (token: string, name: string, args: Record<string, unknown>) =>
        postTool(slow, token, name, args);
      // Globs whose subset automata explode against irregular runs of a and b (bench/globs.ts).
      const hostile = (j: number) => `*a${'?'.repeat(29)}${'b'.repeat(j)}c${'b'.repeat(479 - j)}*`;
      for (let j = 0; j < 4; j++) {
        const r = await api(holder.token, 'lease', { surface: hostile(j), mode: 'shared' });
        expect(r.status).toBe(200);
        await new Promise((ok) => setTimeout(ok, 1100)); // the holder's bucket refills
      }
      let x = 7;
      const ab = Array.from({ length: 512 }, () =>
        (x = (x * 48271) % 2147483647) & 1 ? 'a' : 'b',
      );
      // One small request (one path) that costs seconds' worth of matching: the next is refused.
      const costly = await api(prober.token, 'who_holds', { surface: ab.join('') });
      expect(costly.status).toBe(200);
      const next = await api(prober.token, 'whoami', {});
      expect(next.status).toBe(429);
    } finally {
      await slow.close();
    }
  });
});
