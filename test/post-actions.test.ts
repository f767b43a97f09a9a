import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/auth/signing.js';
import { callErr, callOk, useTestBaton } from './helpers/baton.js';
import { channelInbox, eventually } from './helpers/sse.js';

// Posts that ask for something (action), carry structured data, and an inbox that drains in one
// call; who counts as a recipient once revoked; pending actions in the status rollup.

const baton = useTestBaton();

let projects = 0;
function project() {
  const slug = `actions-${++projects}`;
  return async (label: string, opts: { lane?: string; admin?: boolean; push?: boolean } = {}) => {
    const seeded = await baton.seed({ projectSlug: slug, label, admin: opts.admin ?? false });
    const client = await baton.connect(seeded.token, { push: opts.push ?? false });
    if (opts.lane) await callOk(client, 'register', { lane: opts.lane });
    return { client, actor: seeded.actor, label };
  };
}

type Post = Record<string, any>;

describe('action flags and data', () => {
  it('a post carries action and data; read_posts returns them and filters on action', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    const data = { pr: 42, checks: ['lint', 'test'], nested: { ok: true, ratio: 0.5 }, none: null };
    await callOk(ana.client, 'post', {
      to_actor: bo.actor,
      subject: 'review me',
      body: 'PR 42 is ready',
      action: 'review',
      data,
    });
    await callOk(ana.client, 'post', { to_actor: bo.actor, body: 'just so you know' });

    const all = (await callOk(bo.client, 'read_posts', { to_me: true })).posts as Post[];
    expect(all).toHaveLength(2);
    expect(all[1]).toMatchObject({ action: 'review', data, subject: 'review me' });
    expect(all[0]).not.toHaveProperty('action');
    expect(all[0]).not.toHaveProperty('data');
    const flagged = (await callOk(bo.client, 'read_posts', { action: 'review' })).posts as Post[];
    expect(flagged.map((p) => p.body)).toEqual(['PR 42 is ready']);
  });

  it('refuses data that is not a bounded JSON object jsonb can store', async () => {
    const join = project();
    const ana = await join('ana');
    const base = { broadcast: true, body: 'x' };
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 20; i++) at = at.next = {} as Record<string, unknown>;
    for (const [data, problem] of [
      [['a'], /object/],
      ['text', /object/],
      [{ big: 'x'.repeat(9000) }, /at most 8192 bytes/],
      [{ nul: 'a\u0000b' }, /NUL/],
      [deep, /nested more than 16/],
    ] as const) {
      const e = await callErr(ana.client, 'post', { ...base, data });
      expect(e.code).toBe('invalid_argument');
      expect(e.message).toMatch(problem);
    }
    const e = await callErr(ana.client, 'post', { ...base, action: 'x'.repeat(33) });
    expect(e.message).toMatch(/action/);
  });

  it('a signature covers action and data', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    await callOk(ana.client, 'set_signing_key', { public_jwk: await exportJWK(publicKey) });
    const content = {
      to_actor: bo.actor,
      body: 'deploy',
      action: 'approve',
      data: { env: 'prod' },
    };
    const sign = (c: Record<string, unknown>) =>
      new CompactSign(new TextEncoder().encode(canonicalJson(c)))
        .setProtectedHeader({ alg: 'EdDSA' })
        .sign(privateKey);
    const signature = await sign(content);
    await callOk(ana.client, 'post', { ...content, signature });
    for (const tampered of [
      { ...content, data: { env: 'staging' } },
      { ...content, action: 'review' },
      { to_actor: bo.actor, body: 'deploy' },
    ]) {
      const e = await callErr(ana.client, 'post', { ...tampered, signature });
      expect(e.message).toMatch(/does not sign this post's content.*action, data/);
    }
  });

  it('pushes action and data in the channel meta', async () => {
    const join = project();
    const ana = await join('ana', { push: true });
    const inbox = channelInbox(ana.client);
    const session = (ana.client.transport as { sessionId?: string }).sessionId;
    await eventually(() => expect(baton.streams.count('mcp', session)).toBe(1));
    const bo = await join('bo');
    const sent = await callOk(bo.client, 'post', {
      to_actor: ana.actor,
      body: 'look',
      action: 'review',
      data: { pr: 7 },
    });
    const push = await inbox.next((c) => c.meta.post_id === String(sent.post_id));
    expect(push.meta).toMatchObject({ action: 'review', data: '{"pr":7}' });
    expect(push.content).toContain('(action: review)');
  });

  it('whats_new post events carry the subject, an excerpt and the action', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    await callOk(ana.client, 'post', {
      to_actor: bo.actor,
      subject: 'schema',
      body: `line one\nline two ${'é'.repeat(200)}`,
      action: 'review',
    });
    const news = await callOk(bo.client, 'whats_new', {});
    const event = (news.events as Post[]).find((e) => e.type === 'post');
    expect(event?.data).toMatchObject({ subject: 'schema', action: 'review' });
    expect(event?.data.excerpt).toBe(`line one line two ${'é'.repeat(102)}…`);
  });
});

describe('draining the inbox: read_posts(ack: true, order: "oldest")', () => {
  it('returns the oldest unacked posts and acks exactly those, in one call', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo', { lane: 'api' });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const to = i % 2 ? { to_lane: 'api' } : { to_actor: bo.actor };
      ids.push((await callOk(ana.client, 'post', { ...to, body: `m${i}` })).post_id as number);
    }
    await callOk(bo.client, 'ack', { post_id: ids[1] });

    const first = await callOk(bo.client, 'read_posts', { ack: true, order: 'oldest', limit: 2 });
    const got = first.posts as Post[];
    expect(got.map((p) => p.post_id)).toEqual([ids[0], ids[2]]);
    for (const p of got) expect(p.acked).toEqual(expect.any(String));
    // Acked by this call and no other: the rest still wait.
    const rest = (await callOk(bo.client, 'read_posts', { unacked_only: true, order: 'oldest' }))
      .posts as Post[];
    expect(rest.map((p) => p.post_id)).toEqual([ids[3], ids[4]]);
    expect(first.unread).toBe(2);

    const second = await callOk(bo.client, 'read_posts', { ack: true, order: 'oldest' });
    expect((second.posts as Post[]).map((p) => p.post_id)).toEqual([ids[3], ids[4]]);
    expect(second).not.toHaveProperty('unread');
    expect((await callOk(bo.client, 'read_posts', { ack: true })).posts).toEqual([]);

    const acks = (await callOk(ana.client, 'query_events', { type: 'ack' })).events as Post[];
    expect(acks.map((e) => e.post_id).sort()).toEqual([...ids].sort());
    const sent = (await callOk(ana.client, 'read_posts', { sent: true })).posts as Post[];
    for (const p of sent) expect(p.receipts.not_acked).toEqual([]);
  });

  it('refuses ack together with sent, and a cursor of the other order', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    for (let i = 0; i < 3; i++)
      await callOk(ana.client, 'post', { to_actor: bo.actor, body: `${i}` });
    expect((await callErr(bo.client, 'read_posts', { ack: true, sent: true })).code).toBe(
      'invalid_argument',
    );
    const newest = await callOk(bo.client, 'read_posts', { to_me: true, limit: 1 });
    const e = await callErr(bo.client, 'read_posts', {
      order: 'oldest',
      cursor: newest.next_cursor,
    });
    expect(e.message).toMatch(/not a next_cursor from read_posts/);
    const oldest = await callOk(bo.client, 'read_posts', { order: 'oldest', limit: 2 });
    const next = await callOk(bo.client, 'read_posts', {
      order: 'oldest',
      limit: 2,
      cursor: oldest.next_cursor,
    });
    expect([...(oldest.posts as Post[]), ...(next.posts as Post[])].map((p) => p.body)).toEqual([
      '0',
      '1',
      '2',
    ]);
  });

  it('concurrent drains of one inbox over separate connections hand out every post exactly once', async () => {
    const join = project();
    const ana = await join('ana');
    const seeded = await baton.seed({ projectSlug: `actions-${projects}`, label: 'bo' });
    for (let i = 0; i < 60; i++) {
      await callOk(ana.client, 'post', { to_actor: seeded.actor, body: `n${i}` });
    }
    // Eight sessions of one participant (sub-agents sharing a token), each draining in pages.
    const drainers = await Promise.all(
      Array.from({ length: 8 }, () => baton.connect(seeded.token, { push: false })),
    );
    const seen: number[] = [];
    await Promise.all(
      drainers.map(async (c) => {
        // An empty drain means every unacked post is in some drain's hands, which acks it.
        for (;;) {
          const r = await callOk(c, 'read_posts', { ack: true, order: 'oldest', limit: 3 });
          const posts = r.posts as Post[];
          if (posts.length === 0) return;
          seen.push(...posts.map((p) => p.post_id as number));
        }
      }),
    );
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
    const acks = await callOk(ana.client, 'query_events', { type: 'ack', limit: 1000 });
    expect((acks.events as unknown[]).length).toBe(60);
  });
});

describe('revoked participants and presence', () => {
  it('receive nothing, count nowhere and show as revoked', async () => {
    const join = project();
    const lead = await join('lead', { admin: true, lane: 'api' });
    const gone = await join('gone', { lane: 'api' });
    const stays = await join('stays', { lane: 'api' });
    const flagged = await callOk(lead.client, 'post', {
      to_lane: 'api',
      body: 'before',
      action: 'review',
    });
    expect(flagged.recipients).toEqual([gone.actor, stays.actor]);
    await callOk(lead.client, 'admin_revoke', { participant: 'gone' });

    const broadcast = await callOk(lead.client, 'post', { broadcast: true, body: 'all' });
    expect(broadcast.recipients).toEqual([stays.actor]);
    const lane = await callOk(lead.client, 'post', { to_lane: 'api', body: 'lane' });
    expect(lane.recipients).toEqual([stays.actor]);
    const direct = await callOk(lead.client, 'post', { to_actor: gone.actor, body: 'you?' });
    expect(direct.recipients).toEqual([]);
    expect(direct.warning).toMatch(/no live token/);

    // Seen a moment ago, yet neither active nor waited on.
    const roster = (await callOk(lead.client, 'list_participants')).participants as Post[];
    expect(roster.find((p) => p.actor === gone.actor)).toMatchObject({
      active: false,
      revoked: true,
    });
    expect(roster.find((p) => p.actor === stays.actor)).not.toHaveProperty('revoked');
    const active = (await callOk(lead.client, 'who_is_active')).active as Post[];
    expect(active.map((a) => a.actor)).not.toContain(gone.actor);
    const status = await callOk(lead.client, 'status');
    expect((status.active as Post[]).map((a) => a.actor)).not.toContain(gone.actor);
    expect(status.pending_actions).toEqual([
      expect.objectContaining({ post_id: flagged.post_id, waiting_on: [stays.actor] }),
    ]);
    const sent = (await callOk(lead.client, 'read_posts', { sent: true })).posts as Post[];
    expect(sent.find((p) => p.post_id === flagged.post_id)?.receipts).toMatchObject({
      not_acked: [stays.actor],
      revoked: [gone.actor],
    });
  });

  it('who_is_active marks the caller', async () => {
    const join = project();
    const ana = await join('ana');
    const bo = await join('bo');
    await callOk(bo.client, 'whoami');
    await baton.settle();
    const active = (await callOk(ana.client, 'who_is_active')).active as Post[];
    expect(active.find((a) => a.actor === ana.actor)).toMatchObject({ self: true });
    expect(active.find((a) => a.actor === bo.actor)).not.toHaveProperty('self');
  });
});

describe('status: pending actions and what recent posts are about', () => {
  it('lists flagged posts until every live recipient acked, project-wide', async () => {
    const join = project();
    const ana = await join('ana', { lane: 'docs' });
    const bo = await join('bo', { lane: 'docs' });
    const cy = await join('cy', { lane: 'docs' });
    const asked = await callOk(ana.client, 'post', {
      to_lane: 'docs',
      subject: 'proofread',
      body: 'the guide',
      action: 'review',
      tag: 'guide',
    });
    await callOk(ana.client, 'post', { to_lane: 'docs', body: 'no action here' });
    const pending = async () => (await callOk(cy.client, 'status')).pending_actions as Post[];
    expect(await pending()).toEqual([
      {
        post_id: asked.post_id,
        from: ana.actor,
        action: 'review',
        subject: 'proofread',
        tag: 'guide',
        at: expect.any(String),
        waiting_on: [bo.actor, cy.actor].sort(),
      },
    ]);
    await callOk(bo.client, 'ack', { post_id: asked.post_id });
    expect((await pending())[0]?.waiting_on).toEqual([cy.actor]);
    await callOk(cy.client, 'read_posts', { ack: true, action: 'review' });
    expect(await pending()).toEqual([]);

    const recent = (await callOk(ana.client, 'status')).recent_events as Post[];
    expect(recent.find((e) => e.post_id === asked.post_id && e.type === 'post')).toMatchObject({
      subject: 'proofread',
      tag: 'guide',
      action: 'review',
    });
    expect(recent.find((e) => e.type === 'post' && !e.subject)).toMatchObject({
      excerpt: 'no action here',
    });
  });
});

describe('actor filters', () => {
  it('query_events refuses a bare label with the actors it may mean, and takes a handle', async () => {
    const join = project();
    const ana = await join('ana');
    await callOk(ana.client, 'register', { lane: 'x' });
    const e = await callErr(ana.client, 'query_events', { actor: 'ana' });
    expect(e.code).toBe('invalid_argument');
    expect(e.message).toContain(`did you mean ${ana.actor}?`);
    const bare = await callErr(ana.client, 'query_events', { actor: 'Not A Name' });
    expect(bare.code).toBe('invalid_argument');
    const mine = await callOk(ana.client, 'query_events', { actor: ana.actor });
    expect((mine.events as Post[]).map((x) => x.type)).toContain('register');
    // The bare handle is the person: seed-token records their act under it.
    const handle = ana.actor.split('/')[0] as string;
    const theirs = await callOk(ana.client, 'query_events', { actor: handle });
    expect((theirs.events as Post[]).map((x) => x.type)).toContain('participant_provisioned');
  });
});
