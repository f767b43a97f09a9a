import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { callErr, callOk, useTestBaton } from './helpers/baton.js';
import { channelInbox, eventually } from './helpers/sse.js';

// The documented workflows of the tools Baton replaces, driven through the official MCP client,
// each step as its users would take it in Baton (docs/coming-from.md maps one to the other).

const baton = useTestBaton();

type Body = Record<string, any>;

async function agent(
  project: string,
  label: string,
  opts: { admin?: boolean; push?: boolean } = {},
) {
  const seeded = await baton.seed({ projectSlug: project, label, admin: opts.admin ?? false });
  const client = await baton.connect(seeded.token, { push: opts.push ?? false });
  return { client, actor: seeded.actor, token: seeded.token };
}

describe('bus-mcp: claim, heartbeat, steal, release, post with a flag, status', () => {
  it('works as lane leases, flagged posts and the status rollup', async () => {
    const a = await agent('busmcp', 'session-a');
    const b = await agent('busmcp', 'session-b');
    const lane = 'lane:feeds-refactor';

    // claim_lane
    const claimed = await callOk(a.client, 'lease', { surface: lane, ttl_seconds: 300 });
    expect(claimed).toMatchObject({ surface: lane, renewed: false, ttl_seconds: 300 });
    const held = await callErr(b.client, 'lease', { surface: lane });
    expect(held.code).toBe('lease_held');
    expect(held.message).toContain(a.actor);

    // heartbeat_lane: the same lease, renewed
    const beat = await callOk(a.client, 'lease', { surface: lane });
    expect(beat).toMatchObject({
      renewed: true,
      lease_id: claimed.lease_id,
      fencing_token: claimed.fencing_token,
    });

    // The holder goes quiet and its lease runs out; steal-if-expired is just a lease.
    await sql`update leases set expires_at = now() - interval '1 second'
              where id = ${claimed.lease_id as number}`.execute(baton.storage.db);
    const stolen = await callOk(b.client, 'lease', { surface: lane });
    expect(stolen.lease_id).not.toBe(claimed.lease_id);
    expect(stolen.fencing_token as number).toBeGreaterThan(claimed.fencing_token as number);
    const lost = await callOk(a.client, 'query_events', { type: 'lease_expired' });
    expect((lost.events as Body[])[0]?.data).toMatchObject({
      surface: lane,
      taken_over_by: b.actor,
    });

    // release_lane
    const released = await callOk(b.client, 'release', { surface: lane });
    expect((released.leases as Body[]).map((r) => r.surface)).toEqual([lane]);
    expect((await callOk(a.client, 'who_holds', { surface: lane })).leases).toEqual([]);

    // post_message(topic, action_flag)
    const post = await callOk(a.client, 'post', {
      broadcast: true,
      tag: 'converge',
      subject: 'feeds-refactor',
      body: 'lane merged to master',
      action: 'review',
    });
    expect(post.recipients).toEqual([b.actor]);

    // get_bus_status: the pending flag, and what the recent messages were about
    const status = await callOk(b.client, 'status');
    expect(status.pending_actions).toEqual([
      expect.objectContaining({ post_id: post.post_id, action: 'review', waiting_on: [b.actor] }),
    ]);
    expect((status.recent_events as Body[]).find((e) => e.type === 'post')).toMatchObject({
      tag: 'converge',
      subject: 'feeds-refactor',
      action: 'review',
    });
    expect((status.leases as Body[]).map((l) => l.surface)).not.toContain(lane);

    await callOk(b.client, 'ack', { post_id: post.post_id });
    expect((await callOk(a.client, 'status')).pending_actions).toEqual([]);
  });
});

describe('LLM Bus: its whole tool table', () => {
  it('every tool it documents answers as it does there', async () => {
    const lead = await agent('llmbus', 'lead', { admin: true });
    const me = await callOk(lead.client, 'whoami');
    expect(me).toMatchObject({ actor: lead.actor, project: 'llmbus', is_admin: true });
    await callOk(lead.client, 'register', { lane: 'platform', status: 'onboarding' });

    // admin_provision: a token for a new agent, which connects with it
    const minted = await callOk(lead.client, 'admin_provision', {
      participant: 'minter-dev',
      lane: 'platform',
    });
    expect(minted.setup).toMatchObject({ mcp_url: `${baton.baseUrl}/mcp` });
    const dev = await baton.connect(minted.token as string, { push: false });
    expect(await callOk(dev, 'whoami')).toMatchObject({ actor: minted.actor });
    const active = (await callOk(lead.client, 'who_is_active', { lane: 'platform' }))
      .active as Body[];
    expect(active.map((x) => x.actor).sort()).toEqual([lead.actor, minted.actor].sort());
    const roster = (await callOk(lead.client, 'list_participants')).participants as Body[];
    expect(roster.map((p) => p.actor)).toContain(minted.actor);

    // seed_sequence, claim, latest_claims
    await callOk(lead.client, 'seed_sequence', { sequence: 'adr', current: 102, prefix: 'R' });
    const claim = await callOk(dev, 'claim', { sequence: 'adr', note: 'caching ADR' });
    expect(claim.formatted).toBe('R103');
    expect((await callOk(lead.client, 'latest_claims', { sequence: 'adr' })).claims).toEqual([
      expect.objectContaining({ formatted: 'R103', by: minted.actor }),
    ]);

    // post, read_posts(to_me), ack
    const handoff = await callOk(lead.client, 'post', {
      to_lane: 'platform',
      body: 'R103 is yours to write',
      ref: 'adr/R103',
    });
    const inbox = (await callOk(dev, 'read_posts', { to_me: true })).posts as Body[];
    expect(inbox[0]).toMatchObject({ post_id: handoff.post_id, ref: 'adr/R103' });
    expect(await callOk(dev, 'ack', { post_id: handoff.post_id })).toMatchObject({
      acked: [handoff.post_id],
    });

    // whats_new, query_events
    const news = await callOk(dev, 'whats_new');
    expect((news.events as Body[]).map((e) => e.type)).toEqual(
      expect.arrayContaining(['sequence_seeded', 'claim', 'post', 'ack']),
    );
    const acks = await callOk(lead.client, 'query_events', { type: 'ack', actor: minted.actor });
    expect((acks.events as Body[]).map((e) => e.post_id)).toEqual([handoff.post_id]);

    // lease, who_holds, release
    const lease = await callOk(dev, 'lease', { surface: 'docs/adr/R103.md' });
    expect((await callOk(lead.client, 'who_holds', { surface: 'docs/adr/*.md' })).leases).toEqual([
      expect.objectContaining({ lease_id: lease.lease_id, actor: minted.actor }),
    ]);
    await callOk(dev, 'release', { lease_id: lease.lease_id });

    // task_create/assign/start/block/resolve/ship, list_tasks
    const task = (await callOk(lead.client, 'task_create', { title: 'write R103' })).task as Body;
    await callOk(lead.client, 'task_assign', { task_id: task.task_id, owner: minted.actor });
    await callOk(dev, 'task_start', { task_id: task.task_id });
    await callOk(dev, 'task_block', { task_id: task.task_id, reason: 'waiting on review' });
    await callOk(lead.client, 'task_resolve', { task_id: task.task_id });
    await callOk(dev, 'task_ship', { task_id: task.task_id, ref: 'adr/R103' });
    const done = (await callOk(lead.client, 'list_tasks', { status: 'done' })).tasks as Body[];
    expect(done.map((t) => t.task_id)).toEqual([task.task_id]);

    // create_invite, admin_rotate, admin_revoke
    const invite = await callOk(lead.client, 'create_invite', { participant: 'alice' });
    expect(invite.code).toMatch(/^baton_inv_/);
    const rotated = await callOk(lead.client, 'admin_rotate', { participant: 'minter-dev' });
    const fresh = await baton.connect(rotated.token as string, { push: false });
    expect(await callOk(fresh, 'whoami')).toMatchObject({ actor: minted.actor });
    await expect(baton.connect(minted.token as string, { push: false })).rejects.toThrow();
    await callOk(lead.client, 'admin_revoke', { participant: 'minter-dev' });
    await expect(baton.connect(rotated.token as string, { push: false })).rejects.toThrow();
    // Revoked: no longer someone posts go to, nor active.
    const after = await callOk(lead.client, 'post', { to_lane: 'platform', body: 'anyone?' });
    expect(after.recipients).toEqual([]);
  });
});

describe('peerbus: send, broadcast, peers, drain with JSON data', () => {
  it('drains in one call, oldest first, with the data as objects', async () => {
    const hermes = await agent('peerbus', 'hermes');
    const codex = await agent('peerbus', 'codex');
    const cc = await agent('peerbus', 'cc', { push: true });
    const pushes = channelInbox(cc.client);
    const session = (cc.client.transport as { sessionId?: string }).sessionId;
    await eventually(() => expect(baton.streams.count('mcp', session)).toBe(1));

    // peers: {self, peers}
    await callOk(codex.client, 'whoami');
    await baton.settle();
    const peers = (await callOk(hermes.client, 'who_is_active')).active as Body[];
    expect(peers.find((p) => p.self)?.actor).toBe(hermes.actor);
    expect(
      peers
        .filter((p) => !p.self)
        .map((p) => p.actor)
        .sort(),
    ).toEqual([codex.actor, cc.actor].sort());

    // send and broadcast, with JSON bodies as data
    const job = { job: 412, status: 'green', steps: [{ name: 'test', ms: 5120 }] };
    const sent = await callOk(codex.client, 'post', {
      to_actor: hermes.actor,
      body: 'build finished',
      data: job,
    });
    expect(sent.recipients).toEqual([hermes.actor]);
    const all = await callOk(cc.client, 'post', {
      broadcast: true,
      body: 'pausing deploys',
      data: { until: '2025-01-31T12:00:00Z', reason: null },
    });
    expect(all.recipients).toEqual([codex.actor, hermes.actor].sort());

    // drain: one call returns everything new, oldest first, and acknowledges it
    const drained = await callOk(hermes.client, 'read_posts', { ack: true, order: 'oldest' });
    expect((drained.posts as Body[]).map((p) => [p.from, p.data, p.acked !== null])).toEqual([
      [codex.actor, job, true],
      [cc.actor, { until: '2025-01-31T12:00:00Z', reason: null }, true],
    ]);
    expect(drained).not.toHaveProperty('unread');
    expect(
      (await callOk(hermes.client, 'read_posts', { ack: true, order: 'oldest' })).posts,
    ).toEqual([]);
    const receipts = (await callOk(codex.client, 'read_posts', { sent: true })).posts as Body[];
    expect(receipts[0]?.receipts).toMatchObject({ acked: [hermes.actor], not_acked: [] });

    // the push-wake side (the cc adapter): the data arrives in the channel meta
    const reply = await callOk(hermes.client, 'post', {
      to_actor: cc.actor,
      body: 'ack',
      data: { seen: [412] },
    });
    const push = await pushes.next((c) => c.meta.post_id === String(reply.post_id));
    expect(JSON.parse(push.meta.data as string)).toEqual({ seen: [412] });
  });
});
