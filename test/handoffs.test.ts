import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { rolledBack } from './helpers/db.js';
import { callErr, callOk, useTestBaton } from './helpers/baton.js';

const baton = useTestBaton();

let projects = 0;
/**
 * A fresh project per test, and agents in it with their own sessions. They do not listen for
 * pushes, so delivery here is what read_posts records (push.test.ts covers delivery by push).
 */
function project() {
  const slug = `handoffs-${++projects}`;
  return async (label: string, lane?: string) => {
    const seeded = await baton.seed({ projectSlug: slug, label });
    const client = await baton.connect(seeded.token, { push: false });
    if (lane) await callOk(client, 'register', { lane });
    return { client, actor: seeded.actor, token: seeded.token };
  };
}

interface Receipts {
  delivered: string[];
  acked: string[];
  not_acked: string[];
}

type Agent = Awaited<ReturnType<ReturnType<typeof project>>>;

async function sentReceipts(sender: Agent): Promise<Map<number, Receipts>> {
  const body = await callOk(sender.client, 'read_posts', { sent: true });
  const posts = body.posts as { post_id: number; receipts: Receipts }[];
  return new Map(posts.map((p) => [p.post_id, p.receipts]));
}

async function countEvents(client: Agent['client'], type: string): Promise<number> {
  const body = await callOk(client, 'query_events', { type, limit: 1000 });
  return (body.events as unknown[]).length;
}

describe('post and receipts', () => {
  it('a direct post shows its sender delivered once read and acked once acked', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');

    const sent = await callOk(ana.client, 'post', {
      to_actor: bo.actor,
      subject: 'schema review',
      body: 'Please review the migration before I merge.',
      ref: 'PR#12',
      tag: 'review',
    });
    expect(sent).toMatchObject({ recipients: [bo.actor] });
    expect(sent.post_id).toEqual(expect.any(Number));
    expect(sent.seq).toEqual(expect.any(Number));
    const id = sent.post_id as number;

    expect((await sentReceipts(ana)).get(id)).toEqual({
      delivered: [],
      acked: [],
      not_acked: [bo.actor],
    });

    const inbox = await callOk(bo.client, 'read_posts', { to_me: true });
    expect(inbox.posts).toEqual([
      expect.objectContaining({
        post_id: id,
        from: ana.actor,
        to_actor: bo.actor,
        subject: 'schema review',
        body: 'Please review the migration before I merge.',
        ref: 'PR#12',
        tag: 'review',
        delivered: expect.any(String),
        acked: null,
      }),
    ]);
    expect((await sentReceipts(ana)).get(id)).toEqual({
      delivered: [bo.actor],
      acked: [],
      not_acked: [bo.actor],
    });

    // Reading again keeps the first delivery time.
    const again = await callOk(bo.client, 'read_posts', { to_me: true });
    const first = (inbox.posts as { delivered: string }[])[0]?.delivered;
    expect((again.posts as { delivered: string }[])[0]?.delivered).toBe(first);

    expect(await callOk(bo.client, 'ack', { post_id: id })).toEqual({
      acked: [id],
      already_acked: [],
    });
    expect((await sentReceipts(ana)).get(id)).toEqual({
      delivered: [bo.actor],
      acked: [bo.actor],
      not_acked: [],
    });
  });

  it('a lane post and a broadcast show receipts per recipient', async () => {
    const join = project();
    const ana = await join('ana', 'api');
    const bo = await join('bo', 'docs');
    const cy = await join('cy', 'docs');
    const dee = await join('dee', 'api');

    const lane = await callOk(ana.client, 'post', {
      to_lane: 'docs',
      body: 'Docs freeze at noon.',
    });
    expect(lane.recipients).toEqual([bo.actor, cy.actor]);
    const all = await callOk(ana.client, 'post', { broadcast: true, body: 'Release cut today.' });
    // Everyone but the sender, whatever their lane.
    expect(all.recipients).toEqual([bo.actor, cy.actor, dee.actor]);

    await callOk(bo.client, 'read_posts', { to_me: true });
    await callOk(cy.client, 'ack', { post_ids: [lane.post_id, all.post_id] });

    const receipts = await sentReceipts(ana);
    expect(receipts.get(lane.post_id as number)).toEqual({
      delivered: [bo.actor, cy.actor],
      acked: [cy.actor],
      not_acked: [bo.actor],
    });
    expect(receipts.get(all.post_id as number)).toEqual({
      delivered: [bo.actor, cy.actor],
      acked: [cy.actor],
      not_acked: [bo.actor, dee.actor],
    });

    // A lane post reaches whoever is in the lane when it is sent: dee, who was not, cannot ack it.
    const refused = await callErr(dee.client, 'ack', { post_id: lane.post_id });
    expect(refused.code).toBe('forbidden');
  });

  it('a lane stays addressable after everyone has left it', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo', 'feeds');
    await callOk(bo.client, 'register', { lane: 'docs' });
    const r = await callOk(ana.client, 'post', {
      to_lane: 'feeds',
      body: 'Anyone still on feeds?',
    });
    expect(r.recipients).toEqual([]);
    expect(r.warning).toBe('nobody is in lane feeds now, so nobody will receive this post');
    const error = await callErr(ana.client, 'post', { to_lane: 'feed', body: 'typo' });
    expect(error.code).toBe('not_found');
    expect(error.message).toContain('known lanes: docs, feeds');
  });

  it('a post to yourself is a note you can ack', async () => {
    const join = project();
    const ana = await join('ana');
    const r = await callOk(ana.client, 'post', { to_actor: ana.actor, body: 'resume at step 3' });
    expect(r.recipients).toEqual([ana.actor]);
    expect(await callOk(ana.client, 'ack', { post_id: r.post_id })).toMatchObject({
      acked: [r.post_id],
    });
  });
});

describe('ack', () => {
  it('only a recipient can ack; a repeated ack succeeds and writes no second event', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    const cy = await join('cy');
    const { post_id: id } = await callOk(ana.client, 'post', { to_actor: bo.actor, body: 'ping' });

    for (const outsider of [cy, ana]) {
      const error = await callErr(outsider.client, 'ack', { post_id: id });
      expect(error.code).toBe('forbidden');
      expect(error.message).toBe(
        `you are not a recipient of post ${id}; only its recipients can ack it`,
      );
    }
    expect(await countEvents(ana.client, 'ack')).toBe(0);

    expect(await callOk(bo.client, 'ack', { post_id: id })).toEqual({
      acked: [id],
      already_acked: [],
    });
    expect(await callOk(bo.client, 'ack', { post_id: id })).toEqual({
      acked: [],
      already_acked: [id],
    });
    expect(await callOk(bo.client, 'ack', { post_ids: [id, id] })).toEqual({
      acked: [],
      already_acked: [id],
    });
    const acks = await callOk(ana.client, 'query_events', { type: 'ack' });
    expect(acks.events).toEqual([
      expect.objectContaining({ type: 'ack', actor: bo.actor, post_id: id }),
    ]);
  });

  it('concurrent acks of one post by its recipient write exactly one event', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    const { post_id: id } = await callOk(ana.client, 'post', { to_actor: bo.actor, body: 'ping' });
    const sessions = await Promise.all(Array.from({ length: 8 }, () => baton.connect(bo.token)));
    const results = await Promise.all(sessions.map((c) => callOk(c, 'ack', { post_id: id })));
    expect(results.filter((r) => (r.acked as number[]).length === 1)).toHaveLength(1);
    expect(await countEvents(ana.client, 'ack')).toBe(1);
  });

  it('refuses an unknown post without acking the others', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    const { post_id: id } = await callOk(ana.client, 'post', { to_actor: bo.actor, body: 'ping' });
    const error = await callErr(bo.client, 'ack', { post_ids: [id, 999_999] });
    expect(error.code).toBe('not_found');
    expect(error.message).toContain('no post 999999 in this project');
    const inbox = await callOk(bo.client, 'read_posts', { unacked_only: true });
    expect((inbox.posts as unknown[]).length).toBe(1);
  });
});

describe('idempotency', () => {
  it('a repeated idempotency_key returns the first post and writes nothing', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    const first = await callOk(ana.client, 'post', {
      to_actor: bo.actor,
      body: 'deploy is green',
      idempotency_key: 'deploy-42',
    });
    const before = await callOk(ana.client, 'query_events', {});
    const again = await callOk(ana.client, 'post', {
      to_actor: bo.actor,
      body: 'deploy is green (retry)',
      idempotency_key: 'deploy-42',
    });
    expect(again).toEqual({ ...first, replayed: true });
    expect(await callOk(ana.client, 'query_events', {})).toEqual(before);
    const inbox = await callOk(bo.client, 'read_posts', { to_me: true });
    expect(inbox.posts).toEqual([expect.objectContaining({ body: 'deploy is green' })]);

    // Keys belong to their sender.
    const other = await callOk(bo.client, 'post', {
      to_actor: ana.actor,
      body: 'thanks',
      idempotency_key: 'deploy-42',
    });
    expect(other.post_id).not.toBe(first.post_id);
  });

  it('concurrent posts with one key create one post', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    const sessions = await Promise.all(Array.from({ length: 10 }, () => baton.connect(ana.token)));
    const results = await Promise.all(
      sessions.map((c, i) =>
        callOk(c, 'post', { to_actor: bo.actor, body: `try ${i}`, idempotency_key: 'once' }),
      ),
    );
    expect(new Set(results.map((r) => r.post_id)).size).toBe(1);
    expect(new Set(results.map((r) => r.seq)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(await countEvents(ana.client, 'post')).toBe(1);
  });
});

describe('read_posts', () => {
  it('threads, refs, tags, lanes and senders filter; pages never repeat or skip', async () => {
    const join = project();
    const ana = await join('ana', 'api');
    const bo = await join('bo', 'docs');
    const root = await callOk(ana.client, 'post', {
      to_actor: bo.actor,
      body: 'root',
      ref: 'adr/0007',
    });
    const reply = await callOk(bo.client, 'post', {
      to_actor: ana.actor,
      body: 'reply',
      reply_to: root.post_id,
    });
    const nested = await callOk(ana.client, 'post', {
      to_actor: bo.actor,
      body: 'reply to reply',
      reply_to: reply.post_id,
      tag: 'decision',
    });
    await callOk(ana.client, 'post', { to_lane: 'docs', body: 'lane note', tag: 'decision' });

    const ids = async (args: Record<string, unknown>) =>
      ((await callOk(ana.client, 'read_posts', args)).posts as { post_id: number }[]).map(
        (p) => p.post_id,
      );
    const thread = [nested.post_id, reply.post_id, root.post_id];
    expect(await ids({ thread: root.post_id })).toEqual(thread);
    expect(await ids({ thread: nested.post_id })).toEqual(thread);
    expect(await ids({ ref: 'adr/0007' })).toEqual([root.post_id]);
    expect((await ids({ tag: 'decision' })).length).toBe(2);
    expect((await ids({ to_lane: 'docs' })).length).toBe(1);
    expect(await ids({ from_actor: bo.actor })).toEqual([reply.post_id]);
    expect(await ids({ to_me: true })).toEqual([reply.post_id]);
    expect((await ids({ sent: true })).length).toBe(3);
    expect((await ids({ sent: true, tag: 'decision' })).length).toBe(2);

    const view = (await callOk(ana.client, 'read_posts', { thread: root.post_id })).posts as {
      post_id: number;
      reply_to?: number;
      thread?: number;
    }[];
    expect(view[0]).toMatchObject({ reply_to: reply.post_id, thread: root.post_id });

    for (let i = 0; i < 23; i++) {
      await callOk(bo.client, 'post', { to_actor: ana.actor, body: `note ${i}`, tag: 'bulk' });
    }
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const body = await callOk(ana.client, 'read_posts', {
        tag: 'bulk',
        limit: 10,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...(body.posts as { post_id: number }[]).map((p) => p.post_id));
      cursor = (body.next_cursor as string | null) ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(23);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    expect(new Set(seen).size).toBe(23);
  });

  it('to_me covers direct, lane and broadcast posts; unacked_only drops acked ones', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo', 'docs');
    const direct = await callOk(ana.client, 'post', { to_actor: bo.actor, body: 'direct' });
    const lane = await callOk(ana.client, 'post', { to_lane: 'docs', body: 'lane' });
    const all = await callOk(ana.client, 'post', { broadcast: true, body: 'all' });
    await callOk(ana.client, 'post', { to_actor: ana.actor, body: 'not for bo' });

    const inbox = await callOk(bo.client, 'read_posts', { to_me: true });
    expect((inbox.posts as { post_id: number }[]).map((p) => p.post_id)).toEqual([
      all.post_id,
      lane.post_id,
      direct.post_id,
    ]);
    await callOk(bo.client, 'ack', { post_id: lane.post_id });
    const unacked = await callOk(bo.client, 'read_posts', { unacked_only: true });
    expect((unacked.posts as { post_id: number }[]).map((p) => p.post_id)).toEqual([
      all.post_id,
      direct.post_id,
    ]);
  });

  it("does not show or touch another project's posts", async () => {
    const ana = await project()('ana');
    const eve = await project()('eve');
    const { post_id } = await callOk(ana.client, 'post', { to_actor: ana.actor, body: 'mine' });
    expect((await callOk(eve.client, 'read_posts', {})).posts).toEqual([]);
    expect((await callErr(eve.client, 'ack', { post_id })).code).toBe('not_found');
    expect((await callErr(eve.client, 'read_posts', { thread: post_id })).code).toBe('not_found');
    expect((await callErr(eve.client, 'post', { to_actor: ana.actor, body: 'hi' })).code).toBe(
      'not_found',
    );
  });
});

describe('unread', () => {
  it('write results carry unread while posts await my ack, and it goes away after the ack', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    const a = await callOk(ana.client, 'post', { to_actor: bo.actor, body: 'one' });
    const b = await callOk(ana.client, 'post', { to_actor: bo.actor, body: 'two' });
    expect(a).not.toHaveProperty('unread');

    expect(await callOk(bo.client, 'register', { lane: 'docs' })).toMatchObject({ unread: 2 });
    // Read-only tools never carry it.
    expect(await callOk(bo.client, 'who_is_active')).not.toHaveProperty('unread');
    // Reading delivers but does not ack.
    expect(await callOk(bo.client, 'read_posts', { to_me: true })).toMatchObject({ unread: 2 });
    expect(await callOk(bo.client, 'ack', { post_id: a.post_id })).toMatchObject({ unread: 1 });
    const last = await callOk(bo.client, 'ack', { post_id: b.post_id });
    expect(last).not.toHaveProperty('unread');
    expect(await callOk(bo.client, 'register', { lane: 'docs' })).not.toHaveProperty('unread');
  });
});

describe('unread index', () => {
  it('the unread count of every write result is an index-only scan of unacked receipts', async () => {
    await rolledBack(baton.storage.db, async (trx) => {
      // Rule the sequential scan out: what remains shows which index can serve the count.
      await sql`set local enable_seqscan = off`.execute(trx);
      const { rows } = await sql<{ 'QUERY PLAN': string }>`
        explain select count(*)::int as n from post_recipients
        where project_id = 1 and participation_id = 2 and acked_at is null`.execute(trx);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index Only Scan using post_recipients_unacked_idx/);
    });
  });
});
