import { sql } from 'kysely';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendEvent, appendEvents } from '../src/db/ledger.js';
import { transact } from '../src/db/pool.js';
import { callErr, callOk, useTestBaton } from './helpers/baton.js';
import { rawEvent, rawEvents, type RawEvent } from './helpers/events.js';
import { makeParticipation, makeProject } from './helpers/factories.js';

const baton = useTestBaton();

const TYPES = ['post', 'ack', 'claim', 'task_started', 'lease_granted'];
const ACTORS = ['owner/a', 'owner/b', 'owner/c'];
const PER_BATCH = 700;

interface Made extends RawEvent {
  seq: number;
  batch: number;
}

let client: Client;
let projectId: string;
let made: Made[] = [];
/** Times between the three batches: batch 0 < t1 <= batch 1 < t2 <= batch 2. */
let t1: string;
let t2: string;

function spec(i: number): RawEvent {
  return {
    type: TYPES[i % TYPES.length] as string,
    actor: ACTORS[i % ACTORS.length] as string,
    sequence: i % 7 === 0 ? 'adr' : null,
    ref: i % 11 === 0 ? 'PR#11' : null,
    tag: i % 13 === 0 ? 'hot' : null,
    taskId: i % 3 === 0 ? String((i % 4) + 1) : null,
    data: { i },
  };
}

const now = async () =>
  (await sql<{ t: Date }>`select clock_timestamp() as t`.execute(baton.storage.db)).rows[0]?.t;

beforeAll(async () => {
  const seeded = await baton.seed({ projectSlug: 'ledger', label: 'reader' });
  client = await baton.connect(seeded.token);
  const { rows } = await sql<{ id: string }>`
    select id from projects where slug = 'ledger'`.execute(baton.storage.db);
  projectId = rows[0]?.id as string;
  // The seed recorded one event (participant_provisioned) as seq 1.
  let i = 0;
  for (let batch = 0; batch < 3; batch++) {
    const specs = Array.from({ length: PER_BATCH }, () => spec(i++));
    const appended = await transact(baton.storage.db, (trx) =>
      appendEvents(trx, projectId, rawEvents(specs)),
    );
    made.push(...specs.map((s, k) => ({ ...s, seq: Number(appended[k]?.seq), batch })));
    if (batch === 0) t1 = (await now())?.toISOString() as string;
    if (batch === 1) t2 = (await now())?.toISOString() as string;
  }
  made = made.reverse(); // newest first, as query_events answers
});

/** Every page of a query, following next_cursor. */
async function all(args: Record<string, unknown>) {
  const seqs: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const body: Record<string, unknown> = await callOk(client, 'query_events', {
      ...args,
      ...(cursor ? { cursor } : {}),
    });
    seqs.push(...(body.events as { seq: number }[]).map((e) => e.seq));
    cursor = body.next_cursor as string | null;
    pages++;
  } while (cursor);
  return { seqs, pages };
}

describe('query_events', () => {
  it('pages through more than 2,000 events by cursor without loss or repetition', async () => {
    const head = made.length + 1;
    const everything = Array.from({ length: head }, (_, k) => head - k);
    const big = await all({ limit: 1000 });
    expect(big.pages).toBe(3);
    expect(big.seqs).toEqual(everything);
    const small = await all({});
    expect(small.pages).toBe(22); // default limit 100
    expect(small.seqs).toEqual(everything);
  });

  it('every filter matches exactly, alone and combined', async () => {
    const last = made[0]?.seq as number;
    const pick = (keep: (m: Made) => boolean) => made.filter(keep).map((m) => m.seq);
    const cases: [Record<string, unknown>, number[]][] = [
      [{ type: 'ack' }, pick((m) => m.type === 'ack')],
      [{ actor: 'owner/b' }, pick((m) => m.actor === 'owner/b')],
      [{ sequence: 'adr' }, pick((m) => m.sequence === 'adr')],
      [{ ref: 'PR#11' }, pick((m) => m.ref === 'PR#11')],
      [{ tag: 'hot' }, pick((m) => m.tag === 'hot')],
      [{ task_id: 2 }, pick((m) => m.taskId === '2')],
      [{ since: t1 }, pick((m) => m.batch >= 1)],
      [{ until: t1 }, [...pick((m) => m.batch === 0), 1]],
      [{ since: t1, until: t2 }, pick((m) => m.batch === 1)],
      [{ after_seq: last - 10 }, pick((m) => m.seq > last - 10)],
      [{ before_seq: 12 }, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]],
      [{ after_seq: 100, before_seq: 105 }, [104, 103, 102, 101]],
      [
        { type: 'post', actor: 'owner/a', tag: 'hot' },
        pick((m) => m.type === 'post' && m.actor === 'owner/a' && m.tag === 'hot'),
      ],
      [
        { sequence: 'adr', since: t1, until: t2 },
        pick((m) => m.sequence === 'adr' && m.batch === 1),
      ],
      [{ type: 'no_such_type' }, []],
      [{ actor: 'owner/nobody' }, []],
    ];
    for (const [args, expected] of cases) {
      expect(expected.length, JSON.stringify(args)).toBeLessThan(made.length);
      const { seqs } = await all({ ...args, limit: 1000 });
      expect({ args, seqs }).toEqual({ args, seqs: expected });
    }
  });

  it('returns each event with the ids it concerns and its data', async () => {
    const body = await callOk(client, 'query_events', { tag: 'hot', ref: 'PR#11', limit: 1 });
    const m = made.find((x) => x.tag === 'hot' && x.ref === 'PR#11') as Made;
    expect(body.events).toEqual([
      {
        seq: m.seq,
        type: m.type,
        actor: m.actor,
        at: expect.any(String),
        ...(m.taskId ? { task_id: Number(m.taskId) } : {}),
        ...(m.sequence ? { sequence: m.sequence } : {}),
        ref: 'PR#11',
        tag: 'hot',
        data: m.data,
      },
    ]);
  });

  it('the cursor and before_seq combine to the stricter bound', async () => {
    const page = await callOk(client, 'query_events', { limit: 5 });
    const next = await callOk(client, 'query_events', {
      limit: 5,
      cursor: page.next_cursor,
      before_seq: 10,
    });
    expect((next.events as { seq: number }[]).map((e) => e.seq)).toEqual([9, 8, 7, 6, 5]);
  });

  it('new events arriving while paging neither repeat nor shift the pages', async () => {
    // A ledger of its own: the shared one above stays exactly as beforeAll made it.
    const project = await makeProject(baton.storage.db);
    const me = await makeParticipation(baton.storage.db, { project, token: true });
    const mine = await baton.connect(me.token as string);
    const claims = await transact(baton.storage.db, (trx) =>
      appendEvents(
        trx,
        project.id,
        rawEvents(
          Array.from({ length: 120 }, (_, i) => ({ type: 'claim', actor: me.actor, data: { i } })),
        ),
      ),
    );
    const first = await callOk(mine, 'query_events', { type: 'claim', limit: 50 });
    const seen = (first.events as { seq: number }[]).map((e) => e.seq);
    await transact(baton.storage.db, (trx) =>
      appendEvent(trx, project.id, rawEvent({ type: 'claim', actor: 'owner/late' })),
    );
    let cursor = first.next_cursor as string | null;
    while (cursor) {
      const body = await callOk(mine, 'query_events', { type: 'claim', limit: 50, cursor });
      seen.push(...(body.events as { seq: number }[]).map((e) => e.seq));
      cursor = body.next_cursor as string | null;
    }
    expect(seen).toEqual(claims.map((c) => Number(c.seq)).reverse());
  });

  it('refuses malformed filters saying what to fix', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ limit: 1001 }, /limit/],
      [{ limit: 0 }, /limit/],
      [{ since: 'yesterday' }, /since: must be an ISO 8601 time with a zone/],
      [{ until: '2025-01-31T09:00:00' }, /until: must be an ISO 8601 time with a zone/],
      [{ after_seq: -1 }, /after_seq/],
      [{ task_id: 0 }, /task_id/],
      [{ type: 'a\u0000' }, /type: must be one line/],
      [{ ref: 'r'.repeat(501) }, /ref: must be at most 500/],
      [{ cursor: 'garbage' }, /cursor: not a next_cursor from query_events/],
    ];
    for (const [args, message] of cases) {
      const error = await callErr(client, 'query_events', args);
      expect(error.code).toBe('invalid_argument');
      expect(error.message).toMatch(message);
    }
    // A read_posts cursor is not a query_events cursor (posted elsewhere, to leave this ledger be).
    const project = await makeProject(baton.storage.db);
    await makeParticipation(baton.storage.db, { project });
    const { token } = await makeParticipation(baton.storage.db, { project, token: true });
    const poster = await baton.connect(token as string);
    for (let i = 0; i < 3; i++) await callOk(poster, 'post', { broadcast: true, body: `${i}` });
    const posts = await callOk(poster, 'read_posts', { limit: 1 });
    const error = await callErr(client, 'query_events', { cursor: posts.next_cursor });
    expect(error.message).toMatch(/not a next_cursor from query_events/);
  });
});
