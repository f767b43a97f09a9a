import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { callErr, callOk, useTestBaton } from './helpers/baton.js';

// search: full-text over a project's posts, tasks, claims and lease notes, through the real
// server and the SDK client. Words, prefixes and phrases; ranked; paged without loss; filtered;
// and no text a user types can make it fail with `internal`.

const baton = useTestBaton();

interface Hit {
  kind: string;
  post_id?: number;
  task_id?: number;
  sequence?: string;
  number?: number;
  formatted?: string;
  lease_id?: number;
  seq?: number;
  surface?: string;
  subject?: string;
  title?: string;
  actor: string;
  at: string;
  snippet: string;
}

let ana: Client;
let bob: Client;
let anaActor: string;
let bobActor: string;
let anaToken: string;
const ids = { post: 0, task: 0, lunch: 0 };

async function search(client: Client, args: Record<string, unknown>) {
  return (await callOk(client, 'search', args)) as { hits: Hit[]; next_cursor: string | null };
}

const keys = (hits: Hit[]) =>
  hits.map((h) => `${h.kind}:${h.post_id ?? h.task_id ?? h.formatted ?? h.lease_id}`);

beforeAll(async () => {
  const a = await baton.seed({ projectSlug: 'search', label: 'ana' });
  const b = await baton.seed({ projectSlug: 'search', label: 'bob' });
  anaToken = a.token;
  anaActor = a.actor;
  bobActor = b.actor;
  ana = await baton.connect(a.token);
  bob = await baton.connect(b.token);
  ids.post = (
    await callOk(ana, 'post', {
      to_actor: bobActor,
      subject: 'Pool exhausted in staging',
      body: 'The migrations are running; prepared statements fail behind PgBouncer when a < b & "c".',
      ref: 'PR-123',
    })
  ).post_id as number;
  ids.lunch = (
    await callOk(bob, 'post', { broadcast: true, body: 'Statements prepared for lunch.' })
  ).post_id as number;
  ids.task = (
    (
      await callOk(bob, 'task_create', {
        title: 'Rotate the signing keys',
        detail: 'Every quarter, before the audit.',
      })
    ).task as { task_id: number }
  ).task_id;
  await callOk(ana, 'claim', { sequence: 'adr', note: 'search design record', ref: 'PR-4711' });
  await callOk(ana, 'claim', { sequence: 'release', ref: 'a1b2c3d4e5f6' });
  await callOk(bob, 'lease', { surface: 'src/db/pool.ts', note: 'tuning the PgBouncer pool size' });
  await callOk(bob, 'lease', { surface: 'docs/', note: 'rewriting the scaling notes' });
  // Another project with the same words: never found from this one.
  const other = await baton.seed({ projectSlug: 'search-elsewhere', label: 'eve' });
  const eve = await baton.connect(other.token);
  await callOk(eve, 'post', {
    broadcast: true,
    subject: 'Pool exhausted in staging',
    body: 'prepared statements fail behind PgBouncer; migrations zanzibar',
    ref: 'PR-123',
  });
  await callOk(eve, 'task_create', { title: 'Rotate the signing keys zanzibar' });
  await callOk(eve, 'claim', { sequence: 'adr', ref: 'PR-4711' });
});

describe('search finds', () => {
  it('a post by a word of its body, in any case and by its English stem', async () => {
    for (const query of ['migrations', 'MIGRATIONS', 'migration', 'pgbouncer']) {
      const { hits } = await search(ana, { query, kind: 'post' });
      expect(keys(hits), query).toEqual([`post:${ids.post}`]);
    }
    const [hit] = (await search(ana, { query: 'migrations' })).hits;
    expect(hit).toMatchObject({ kind: 'post', subject: 'Pool exhausted in staging' });
    expect(hit?.actor).toBe(anaActor);
    expect(hit?.snippet).toContain('«migrations»');
    // The snippet is text as written, for a page to escape.
    expect(hit?.snippet).toContain('when a < b & "c"');
  });

  it('a post by a prefix of a word, also one longer than the word stem', async () => {
    for (const query of ['pgbou*', 'migrati*', 'PgBouncer*', 'exhaus*']) {
      const { hits } = await search(ana, { query, kind: 'post' });
      expect(keys(hits), query).toEqual([`post:${ids.post}`]);
    }
    expect((await search(ana, { query: 'migratio*', kind: 'post' })).hits[0]?.snippet).toContain(
      '«migrations»',
    );
  });

  it('a post by a quoted phrase of its body, and only with its words in that order', async () => {
    const { hits } = await search(ana, { query: '"prepared statements"', kind: 'post' });
    expect(keys(hits)).toEqual([`post:${ids.post}`]);
    const reversed = await search(ana, { query: '"statements prepared"', kind: 'post' });
    expect(keys(reversed.hits)).toEqual([`post:${ids.lunch}`]);
    // Both posts hold both words; the words alone find both.
    const words = await search(ana, { query: 'prepared statements', kind: 'post' });
    expect(keys(words.hits).sort()).toEqual([`post:${ids.lunch}`, `post:${ids.post}`].sort());
    // Stop words inside a phrase still have to be there.
    expect((await search(ana, { query: '"the migrations are running"' })).hits).toHaveLength(1);
    expect((await search(ana, { query: '"the migrations running"' })).hits).toHaveLength(0);
  });

  it('a task by its title', async () => {
    const { hits } = await search(ana, { query: 'signing keys' });
    expect(keys(hits)).toEqual([`task:${ids.task}`]);
    expect(hits[0]).toMatchObject({ title: 'Rotate the signing keys', actor: bobActor });
    expect((await search(ana, { query: 'rotat*' })).hits[0]?.task_id).toBe(ids.task);
  });

  it('a claim by its ref, whole, by its number, or by a prefix of a commit id', async () => {
    for (const query of ['PR-4711', 'pr-4711', '4711', 'PR-47*']) {
      const { hits } = await search(ana, { query, kind: 'claim' });
      expect(
        hits.map((h) => h.formatted),
        query,
      ).toEqual(['1']);
      expect(hits[0]).toMatchObject({ sequence: 'adr', number: 1, actor: anaActor });
    }
    for (const query of ['a1b2c3d4e5f6', 'a1b2c3*']) {
      const { hits } = await search(ana, { query, kind: 'claim' });
      expect(
        hits.map((h) => h.sequence),
        query,
      ).toEqual(['release']);
    }
    // A post's ref is searched too.
    expect(keys((await search(ana, { query: 'PR-123' })).hits)).toEqual([`post:${ids.post}`]);
  });

  it('a lease by its note, in the ledger after the lease is gone', async () => {
    const { hits } = await search(ana, { query: 'pgbouncer', kind: 'lease' });
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ surface: 'src/db/pool.ts', actor: bobActor });
    await callOk(bob, 'release', { surface: 'src/db/pool.ts' });
    expect((await search(ana, { query: 'pool size', kind: 'lease' })).hits).toHaveLength(1);
    // Every kind holding "pgbouncer", best first.
    const all = await search(ana, { query: 'pgbouncer' });
    expect(all.hits.map((h) => h.kind).sort()).toEqual(['lease', 'post']);
  });
});

describe('search answers', () => {
  it('only from the caller project', async () => {
    expect((await search(ana, { query: 'zanzibar' })).hits).toEqual([]);
    const pool = await search(ana, { query: 'pool exhausted' });
    expect(keys(pool.hits)).toEqual([`post:${ids.post}`]);
    expect((await search(ana, { query: 'PR-4711' })).hits).toHaveLength(1);
  });

  it('filtered by kind, actor and time', async () => {
    const byBob = await search(ana, { query: 'prepared', actor: bobActor });
    expect(keys(byBob.hits)).toEqual([`post:${ids.lunch}`]);
    const later = await search(ana, { query: 'prepared', since: '2999-01-01' });
    expect(later.hits).toEqual([]);
    const since = await search(ana, { query: 'prepared', since: '2000-01-01T00:00:00Z' });
    expect(since.hits).toHaveLength(2);
    expect((await search(ana, { query: 'signing', kind: 'post' })).hits).toEqual([]);
    // A bare label would match no actor: it is refused with the form to use, not answered empty.
    const bare = await callErr(ana, 'search', {
      query: 'prepared',
      actor: bobActor.split('/')[1] as string,
    });
    expect(bare.code).toBe('invalid_argument');
    expect(bare.message).toMatch(/handle\/label/);
  });

  it('best first: a match in the subject ranks above one in the body alone', async () => {
    const c = await baton.seed({ projectSlug: 'search-rank', label: 'ranker' });
    const r = await baton.connect(c.token);
    const body = (
      await callOk(r, 'post', {
        broadcast: true,
        body: 'Notes on many things; one of them is the quokka, among others.',
      })
    ).post_id;
    const subject = (
      await callOk(r, 'post', { broadcast: true, subject: 'Quokka', body: 'See the subject.' })
    ).post_id;
    const { hits } = await search(r, { query: 'quokka' });
    expect(hits.map((h) => h.post_id)).toEqual([subject, body]);
  });

  it('in pages that lose nothing and repeat nothing, ties included, while hits are added', async () => {
    const c = await baton.seed({ projectSlug: 'search-pages', label: 'pager' });
    const p = await baton.connect(c.token);
    const made: number[] = [];
    // 30 posts of identical text share one rank; 15 others rank differently.
    for (let i = 0; i < 30; i++)
      made.push(
        (await callOk(p, 'post', { broadcast: true, body: 'walrus tie' })).post_id as number,
      );
    for (let i = 0; i < 15; i++) {
      const body = `walrus ${'padding '.repeat(i + 1)}`;
      made.push((await callOk(p, 'post', { broadcast: true, body })).post_id as number);
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await search(p, { query: 'walrus', limit: 7, ...(cursor ? { cursor } : {}) });
      seen.push(...res.hits.map((h) => h.post_id as number));
      cursor = res.next_cursor;
      pages++;
      // New hits arriving between pages are not the pages' business: nothing seen repeats.
      if (pages === 2)
        await callOk(p, 'post', { broadcast: true, subject: 'walrus', body: 'walrus walrus' });
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(7);
    expect(new Set(seen).size).toBe(seen.length);
    const mine = seen.filter((id) => made.includes(id));
    expect([...mine].sort((x, y) => x - y)).toEqual([...made].sort((x, y) => x - y));
    // The same order as one page holding everything.
    const one = await search(p, { query: 'walrus', limit: 50 });
    expect(one.hits.map((h) => h.post_id).filter((id) => made.includes(id as number))).toEqual(
      mine,
    );
  });
});

describe('search refuses', () => {
  it('what would be too much work, naming the limit', async () => {
    const long = await callErr(ana, 'search', { query: 'x'.repeat(201) });
    expect(long.code).toBe('invalid_argument');
    expect(long.message).toContain('200');
    const many = await callErr(ana, 'search', {
      query: Array.from({ length: 13 }, (_, i) => `w${i}`).join(' '),
    });
    expect(many.message).toMatch(/at most 12 words/);
    const phrase = await callErr(ana, 'search', {
      query: `"${Array.from({ length: 13 }, (_, i) => `w${i}`).join(' ')}"`,
    });
    expect(phrase.message).toMatch(/at most 12 words/);
    const prefix = await callErr(ana, 'search', { query: 'mi*' });
    expect(prefix.message).toMatch(/at least 3 characters/);
    const page = await callErr(ana, 'search', { query: 'pool', limit: 51 });
    expect(page.code).toBe('invalid_argument');
  });

  it('a query with no words and a cursor of another search', async () => {
    for (const query of ['***', '" "', '-- !!']) {
      const err = await callErr(ana, 'search', { query });
      expect(err.message, query).toMatch(/nothing to search for/);
    }
    const first = await search(ana, { query: 'prepared', limit: 1 });
    expect(first.next_cursor).toBeTruthy();
    const moved = await callErr(ana, 'search', {
      query: 'statements',
      cursor: first.next_cursor,
    });
    expect(moved.message).toMatch(/not a next_cursor of this search/);
    const junk = await callErr(ana, 'search', { query: 'prepared', cursor: 'bm9wZQ' });
    expect(junk.code).toBe('invalid_argument');
  });

  it('never with internal, whatever text it is given', async () => {
    const special = fc.constantFrom(
      "'",
      "''",
      '\\',
      '"',
      ':*',
      '*',
      '&',
      '|',
      '!',
      '(',
      ')',
      '<->',
      '<2>',
      ':A',
      '-',
      ' ',
      'PR-1',
      'the',
      'é',
      '𝔘',
      '\u0301',
    );
    const text = fc
      .array(
        fc.oneof(special, fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 })),
        {
          maxLength: 12,
        },
      )
      .map((parts) => parts.join(''));
    await fc.assert(
      fc.asyncProperty(text, async (query) => {
        const res = await fetch(`${baton.baseUrl}/api/v1/tools/search`, {
          method: 'POST',
          headers: { authorization: `Bearer ${anaToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query }),
        });
        const body = (await res.json()) as { hits?: unknown[]; error?: { code: string } };
        expect([200, 400], JSON.stringify({ query, body })).toContain(res.status);
        if (res.status === 400) expect(body.error?.code).toBe('invalid_argument');
      }),
      { numRuns: 300, seed: 20261206 },
    );
  });
});
