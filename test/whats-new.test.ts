import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { loadConfig } from '../src/config.js';
import { freePort } from '../src/db/embedded.js';
import { createLogger } from '../src/log.js';
import { startBaton } from '../src/main.js';
import { callErr, callOk, startTestBaton, useTestBaton, type TestBaton } from './helpers/baton.js';
import { createTestDatabase } from './helpers/db.js';

const baton = useTestBaton();

interface Ev {
  seq: number;
  type: string;
  actor: string;
  post_id?: number;
}
interface Page {
  events: Ev[];
  has_more: boolean;
  last_seq: number;
  digest: { unacked_posts: { count: number; latest?: { post_id: number }[] } };
}

const whatsNew = async (client: Client, args: Record<string, unknown> = {}) =>
  (await callOk(client, 'whats_new', args)) as unknown as Page;

async function projectIdOf(b: TestBaton, slug: string): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    select id from projects where slug = ${slug}`.execute(b.storage.db);
  return rows[0]?.id as string;
}

/** Reads a cursor to the end of the ledger. */
async function drain(client: Client, cursor = 'default') {
  let page: Page;
  do page = await whatsNew(client, { cursor, limit: 500 });
  while (page.has_more);
}

describe('whats_new', () => {
  it('a new cursor starts at the beginning; events come oldest first, each once', async () => {
    const ana = await baton.seed({ projectSlug: 'wn-basics', label: 'wn-ana' });
    const bo = await baton.seed({ projectSlug: 'wn-basics', label: 'wn-bo' });
    const a = await baton.connect(ana.token);
    const b = await baton.connect(bo.token);
    await callOk(b, 'post', { to_actor: ana.actor, body: 'first', subject: 'hello' });
    await callOk(a, 'register', { lane: 'docs' });

    const page = await whatsNew(a);
    expect(page.events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'participant_provisioned'],
      [2, 'participant_provisioned'],
      [3, 'post'],
      [4, 'register'],
    ]);
    expect(page).toMatchObject({ has_more: false, last_seq: 4 });
    expect(page.digest.unacked_posts).toMatchObject({
      count: 1,
      latest: [{ from: bo.actor, subject: 'hello' }],
    });
    // The cursor moved: nothing new now.
    expect((await whatsNew(a)).events).toEqual([]);
    // Another named cursor of the same participant is independent and starts at the beginning.
    expect((await whatsNew(a, { cursor: 'sub-agent-1' })).events).toHaveLength(4);
    // advance: false looks without moving.
    await callOk(b, 'post', { to_actor: ana.actor, body: 'second' });
    expect((await whatsNew(a, { advance: false })).events.map((e) => e.seq)).toEqual([5]);
    expect((await whatsNew(a, { advance: false })).events.map((e) => e.seq)).toEqual([5]);
    expect((await whatsNew(a)).events.map((e) => e.seq)).toEqual([5]);
    // Cursors are per participant: bo's default cursor is his own.
    expect((await whatsNew(b)).events).toHaveLength(5);
    // It returns the unread count too, since it is a write (it moves the cursor).
    expect(await callOk(a, 'whats_new')).toMatchObject({ unread: 2 });
  });

  it('has_more is right at page boundaries', async () => {
    const ana = await baton.seed({ projectSlug: 'wn-pages', label: 'wn-pager' });
    const a = await baton.connect(ana.token);
    for (let i = 0; i < 9; i++) await callOk(a, 'register', { lane: `lane-${i}` });
    // 10 events: the seed's participant_provisioned and nine registers.
    const pages: [number[], boolean][] = [];
    for (let i = 0; i < 3; i++) {
      const p = await whatsNew(a, { limit: 5 });
      pages.push([p.events.map((e) => e.seq), p.has_more]);
    }
    expect(pages).toEqual([
      [[1, 2, 3, 4, 5], true],
      [[6, 7, 8, 9, 10], false],
      [[], false],
    ]);
    const one = await whatsNew(a, { cursor: 'one', limit: 9 });
    expect(one.has_more).toBe(true);
    expect((await whatsNew(a, { cursor: 'one', limit: 1 })).has_more).toBe(false);
  });

  it('refuses bad arguments saying what to fix', async () => {
    const { token } = await baton.seed({ projectSlug: 'wn-limits', label: 'wn-limits' });
    const client = await baton.connect(token);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ wait_seconds: 61 }, /wait_seconds/],
      [{ wait_seconds: -1 }, /wait_seconds/],
      [{ limit: 501 }, /limit/],
      [{ cursor: '' }, /cursor: a cursor name is 1–64/],
      [{ cursor: 'has space' }, /cursor: a cursor name is 1–64/],
      [{ cursor: 'x'.repeat(65) }, /cursor: a cursor name is 1–64/],
      [{ cursor: 'nul\u0000' }, /cursor: a cursor name is 1–64/],
    ];
    for (const [args, message] of cases) {
      const error = await callErr(client, 'whats_new', args);
      expect(error.code).toBe('invalid_argument');
      expect(error.message).toMatch(message);
    }
  });

  it('caps the number of cursors a participant can create', async () => {
    const { token } = await baton.seed({ projectSlug: 'wn-cap', label: 'wn-cap' });
    const client = await baton.connect(token);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => callOk(client, 'whats_new', { cursor: `c${i}` })),
    );
    const error = await callErr(client, 'whats_new', { cursor: 'one-too-many' });
    expect(error.message).toMatch(/already have 100 cursors; reuse one/);
    // Existing cursors keep working.
    await callOk(client, 'whats_new', { cursor: 'c7' });
  });

  it('two consumers of one named cursor never get the same event', async () => {
    const { token } = await baton.seed({ projectSlug: 'wn-shared', label: 'wn-shared' });
    const writer = await baton.connect(token);
    for (let i = 0; i < 29; i++) await callOk(writer, 'register', { lane: 'x' });
    const consumers = await Promise.all([baton.connect(token), baton.connect(token)]);
    const got = await Promise.all(
      consumers.map(async (c) => {
        const seqs: number[] = [];
        for (;;) {
          const p = await whatsNew(c, { cursor: 'shared', limit: 2 });
          if (p.events.length === 0) return seqs;
          seqs.push(...p.events.map((e) => e.seq));
        }
      }),
    );
    const all = got.flat().sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});

describe('whats_new under concurrency', () => {
  // Each writer runs these in turn. When claims land, a claim writer is one more line here.
  const WRITES: ((c: Client, writer: number, i: number) => Promise<unknown>)[] = [
    (c, w, i) => callOk(c, 'post', { to_lane: 'race', body: `writer ${w}, write ${i}` }),
    (c, _w, i) => callOk(c, 'register', { lane: 'race', status: `step ${i}` }),
    (c) => callOk(c, 'claim', { sequence: 'race' }),
  ];
  const WRITERS = 20;
  const PER_WRITER = 12;
  const PAGE = 7;

  it('20 concurrent writers; two named cursors on one token each see every event once, in order', async () => {
    const slug = 'wn-race';
    const reader = await baton.seed({ projectSlug: slug, label: 'race-reader' });
    const writers = await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const { token } = await baton.seed({ projectSlug: slug, label: `race-w${w}` });
        return baton.connect(token);
      }),
    );
    const readers = await Promise.all([baton.connect(reader.token), baton.connect(reader.token)]);
    await callOk(readers[0] as Client, 'register', { lane: 'race' });

    let writing = true;
    const written = Promise.all(
      writers.map(async (c, w) => {
        for (let i = 0; i < PER_WRITER; i++) await WRITES[(w + i) % WRITES.length]?.(c, w, i);
      }),
    ).finally(() => (writing = false));

    const read = (client: Client, cursor: string, wait: number) =>
      (async () => {
        const seen: Ev[] = [];
        for (;;) {
          const done = !writing;
          const p = await whatsNew(client, { cursor, limit: PAGE, wait_seconds: wait });
          seen.push(...p.events);
          // has_more is only ever true on a full page.
          if (p.has_more) expect(p.events).toHaveLength(PAGE);
          if (done && !p.has_more && p.events.length === 0) return seen;
        }
      })();
    const [a, b] = await Promise.all([
      read(readers[0] as Client, 'a', 0),
      read(readers[1] as Client, 'b', 1), // a long-polling reader
      written,
    ]);

    const { rows } = await sql<{ last_seq: string }>`
      select h.last_seq from ledger_heads h join projects p on p.id = h.project_id
      where p.slug = ${slug}`.execute(baton.storage.db);
    const head = Number(rows[0]?.last_seq);
    // 21 participant_provisioned + the reader's register + every write.
    expect(head).toBe(WRITERS + 1 + 1 + WRITERS * PER_WRITER);
    const everything = Array.from({ length: head }, (_, i) => i + 1);
    expect(a?.map((e) => e.seq)).toEqual(everything);
    expect(b?.map((e) => e.seq)).toEqual(everything);
    expect(b).toEqual(a);
    const posts = a?.filter((e) => e.type === 'post') ?? [];
    let expectedPosts = 0;
    for (let w = 0; w < WRITERS; w++)
      for (let i = 0; i < PER_WRITER; i++) if ((w + i) % WRITES.length === 0) expectedPosts++;
    expect(posts).toHaveLength(expectedPosts);
    expect(a?.filter((e) => e.type === 'claim').length).toBeGreaterThan(0);
  });
});

// Long-polling is the baseline for clients that do not listen for pushes (spec §10); these
// clients open no push stream, so the listener's subscribers are the long-polls alone.
describe('long-polling', () => {
  it('a whats_new waiting 30 s returns soon after another agent posts, with that post', async () => {
    const ana = await baton.seed({ projectSlug: 'wn-wait', label: 'wait-ana' });
    const bo = await baton.seed({ projectSlug: 'wn-wait', label: 'wait-bo' });
    const a = await baton.connect(ana.token, { push: false });
    const b = await baton.connect(bo.token, { push: false });
    await drain(a);
    const projectId = await projectIdOf(baton, 'wn-wait');

    const started = Date.now();
    let settled = false;
    const waiting = whatsNew(a, { wait_seconds: 30 }).finally(() => (settled = true));
    await vi.waitFor(() => expect(baton.listener.subscriberCount(projectId)).toBe(1));
    expect(settled).toBe(false);

    const sent = await callOk(b, 'post', { to_actor: ana.actor, body: 'wake up' });
    const page = await waiting;
    const elapsed = Date.now() - started;
    expect(page.events).toEqual([
      expect.objectContaining({ type: 'post', actor: bo.actor, post_id: sent.post_id }),
    ]);
    expect(page.digest.unacked_posts.count).toBe(1);
    expect(elapsed).toBeLessThan(15_000); // the 30 s deadline was nowhere near
    expect(baton.listener.subscriberCount(projectId)).toBe(0);
  });

  it('returns empty at the deadline when nothing happens', async () => {
    const { token } = await baton.seed({ projectSlug: 'wn-quiet', label: 'quiet' });
    const client = await baton.connect(token, { push: false });
    await drain(client);
    const started = Date.now();
    const page = await whatsNew(client, { wait_seconds: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(page).toMatchObject({ events: [], has_more: false });
  });

  it('events in other projects do not end the wait', async () => {
    const ana = await baton.seed({ projectSlug: 'wn-mine', label: 'mine-ana' });
    const eve = await baton.seed({ projectSlug: 'wn-theirs', label: 'theirs-eve' });
    const a = await baton.connect(ana.token, { push: false });
    const e = await baton.connect(eve.token, { push: false });
    await drain(a);
    const waiting = whatsNew(a, { wait_seconds: 2 });
    await callOk(e, 'register', { lane: 'elsewhere' });
    expect((await waiting).events).toEqual([]);
  });

  it('waiting holds no database connection', async () => {
    const small = await startTestBaton({ poolMax: 3 });
    try {
      const poster = await small.seed({ projectSlug: 'tiny', label: 'poster' });
      const waiters = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const { token } = await small.seed({ projectSlug: 'tiny', label: `waiter-${i}` });
          const c = await small.connect(token, { push: false });
          await drain(c);
          return c;
        }),
      );
      const projectId = await projectIdOf(small, 'tiny');
      const polls = waiters.map((c) => whatsNew(c, { wait_seconds: 30 }));
      await vi.waitFor(() => expect(small.listener.subscriberCount(projectId)).toBe(12));
      // All twelve are waiting, and not one connection is checked out of the pool.
      const { pool } = small.storage;
      await vi.waitFor(() => expect(pool.totalCount - pool.idleCount).toBe(0));
      expect(small.listener.subscriberCount(projectId)).toBe(12);

      // Twelve waiters on a pool of three, and a write still goes straight through.
      const client = await small.connect(poster.token, { push: false });
      const sent = await callOk(client, 'post', { broadcast: true, body: 'all hands' });
      for (const page of await Promise.all(polls)) {
        expect(page.events.map((e) => e.post_id)).toEqual([sent.post_id]);
      }
    } finally {
      await small.close();
    }
  });

  it('a commit through another Baton process on the same database wakes the wait', async () => {
    const database = await createTestDatabase();
    const one = await startTestBaton({ database });
    const two = await startTestBaton({ database });
    try {
      const ana = await one.seed({ projectSlug: 'shared', label: 'on-one' });
      const bo = await two.seed({ projectSlug: 'shared', label: 'on-two' });
      const a = await one.connect(ana.token, { push: false });
      const b = await two.connect(bo.token, { push: false });
      await drain(a);
      const started = Date.now();
      const waiting = whatsNew(a, { wait_seconds: 30 });
      const projectId = await projectIdOf(one, 'shared');
      await vi.waitFor(() => expect(one.listener.subscriberCount(projectId)).toBe(1));
      const sent = await callOk(b, 'post', { to_actor: ana.actor, body: 'from process two' });
      expect((await waiting).events.map((e) => e.post_id)).toEqual([sent.post_id]);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await one.close();
      await two.close();
      await database.drop();
    }
  });

  it('a long-poll whose client went away stops waiting and consumes nothing', async () => {
    const ana = await baton.seed({ projectSlug: 'wn-gone', label: 'gone-ana' });
    const bo = await baton.seed({ projectSlug: 'wn-gone', label: 'gone-bo' });
    const a = await baton.connect(ana.token, { push: false });
    await drain(a);
    const projectId = await projectIdOf(baton, 'wn-gone');

    const controller = new AbortController();
    const request = fetch(`${baton.baseUrl}/api/v1/tools/whats_new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ana.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ wait_seconds: 30 }),
      signal: controller.signal,
    }).catch((err: unknown) => err);
    await vi.waitFor(() => expect(baton.listener.subscriberCount(projectId)).toBe(1));
    controller.abort();
    await request;
    await vi.waitFor(() => expect(baton.listener.subscriberCount(projectId)).toBe(0));

    const sent = await callOk(await baton.connect(bo.token, { push: false }), 'post', {
      to_actor: ana.actor,
      body: 'are you there?',
    });
    // The abandoned poll did not take the event off the cursor.
    expect((await whatsNew(a)).events.map((e) => e.post_id)).toEqual([sent.post_id]);
  });

  it('shutdown ends a long-poll at once with what it has', async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const config = loadConfig({
      DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'silent',
    });
    const server = await startBaton(config, createLogger('silent'));
    try {
      const { token } = await seedToken(server.database.storage.db, {
        email: 'owner@example.test',
        projectSlug: 'stopping',
        label: 'waiter',
      });
      const api = (args: Record<string, unknown>) =>
        fetch(`http://127.0.0.1:${port}/api/v1/tools/whats_new`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(args),
        });
      await api({});
      const started = Date.now();
      const waiting = api({ wait_seconds: 60 });
      await vi.waitFor(() => expect(server.listener.subscriberCount()).toBe(1));
      await server.close();
      const res = await waiting;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ events: [] });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await server.close();
      await database.drop();
    }
  });
});
