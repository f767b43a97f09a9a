import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { callOk, useTestBaton } from './helpers/baton.js';
import { makeAgent, projectId, type Agent } from './helpers/agents.js';
import { channelInbox, channelOf, eventually, rawSession, readSse } from './helpers/sse.js';

// Push on the session's GET stream (spec §10), through the official SDK client, which opens
// that stream itself after initialize, and through raw SSE where ids and resumption matter.

const baton = useTestBaton();

/** Waits until the agents' SDK clients have opened their push streams (after initialize). */
async function listening(...agents: Agent[]) {
  for (const a of agents) {
    const session = (a.client.transport as { sessionId?: string }).sessionId;
    await eventually(() => expect(baton.streams.count('mcp', session)).toBe(1));
  }
}

async function receipt(sender: Agent, postId: number) {
  const sent = await sender.call('read_posts', { sent: true });
  const posts = sent.body.posts as { post_id: number; receipts: Record<string, string[]> }[];
  return posts.find((p) => p.post_id === postId)?.receipts;
}

describe('push to an open MCP session', () => {
  it('declares the claude/channel capability and explains channel events', async () => {
    const ana = await makeAgent(baton, 'push-caps', 'caps-ana');
    expect(ana.client.getServerCapabilities()?.experimental).toEqual({ 'claude/channel': {} });
    expect(ana.client.getInstructions()).toMatch(/channel/i);
    expect(ana.client.getInstructions()).toMatch(/ack/);
  });

  it('delivers a post as notifications/claude/channel, recorded delivered but not acked', async () => {
    const ana = await makeAgent(baton, 'push-basic', 'basic-ana');
    const inbox = channelInbox(ana.client);
    await listening(ana);
    const bo = await makeAgent(baton, 'push-basic', 'basic-bo');

    const sent = await bo.call('post', {
      to_actor: ana.actor,
      subject: 'schema',
      body: 'the migration is ready for review',
      ref: 'PR#12',
      tag: 'review',
    });
    const postId = sent.body.post_id as number;
    const push = await inbox.next((c) => c.meta.post_id === String(postId));
    expect(push).toEqual({
      content: `${bo.actor} to you: schema — the migration is ready for review`,
      meta: { kind: 'post', post_id: String(postId), from: bo.actor, ref: 'PR#12', tag: 'review' },
    });
    // The sender's receipt: delivered by the push alone (ana never read it), and not acked.
    await eventually(async () =>
      expect(await receipt(bo, postId)).toEqual({
        delivered: [ana.actor],
        acked: [],
        not_acked: [ana.actor],
      }),
    );
    // Acking is still ana's own act.
    await ana.call('ack', { post_id: postId });
    expect(await receipt(bo, postId)).toMatchObject({ acked: [ana.actor], not_acked: [] });
    expect(inbox.received).toHaveLength(1);

    // Operators see open streams and the fan-out lag, without a project label.
    const metrics = await (await fetch(`${baton.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^baton_streams_open\{kind="mcp"\} [1-9]/m);
    expect(metrics).toMatch(/^baton_stream_messages_total\{kind="post"\} [1-9]/m);
    expect(metrics).toMatch(/^baton_push_lag_seconds_count [1-9]/m);
  });

  it('pushes lane and broadcast posts to their recipients only, never to the sender', async () => {
    const [ana, bo, cy] = await Promise.all(
      ['lane-ana', 'lane-bo', 'lane-cy'].map((l) => makeAgent(baton, 'push-lanes', l)),
    );
    const inboxes = [ana, bo, cy].map((a) => channelInbox((a as Agent).client));
    await listening(ana as Agent, bo as Agent, cy as Agent);
    await (bo as Agent).call('register', { lane: 'docs' });
    await (cy as Agent).call('register', { lane: 'docs' });

    const lane = await (ana as Agent).call('post', {
      to_lane: 'docs',
      body: 'docs freeze at noon',
    });
    const all = await (bo as Agent).call('post', { broadcast: true, body: 'release 1.2 is out' });
    const lanePost = String(lane.body.post_id);
    const broadcast = String(all.body.post_id);

    const [toAna, toBo, toCy] = inboxes as [
      ReturnType<typeof channelInbox>,
      ReturnType<typeof channelInbox>,
      ReturnType<typeof channelInbox>,
    ];
    await toBo.next((c) => c.meta.post_id === lanePost);
    await toCy.next((c) => c.meta.post_id === lanePost);
    await toAna.next((c) => c.meta.post_id === broadcast);
    await toCy.next((c) => c.meta.post_id === broadcast);
    expect((await toBo.next((c) => c.meta.post_id === lanePost)).content).toBe(
      `${(ana as Agent).actor} to lane docs: docs freeze at noon`,
    );
    expect((await toCy.next((c) => c.meta.post_id === broadcast)).content).toMatch(/to everyone/);
    // A round trip later, nothing else has arrived: no echo to the sender, no duplicates.
    await (ana as Agent).call('whoami');
    expect(toAna.received.map((c) => c.meta.post_id)).toEqual([broadcast]);
    expect(toBo.received.map((c) => c.meta.post_id)).toEqual([lanePost]);
    expect(toCy.received.map((c) => c.meta.post_id).sort()).toEqual([lanePost, broadcast].sort());
  });

  it('tells the previous holder when an expired lease is taken over', async () => {
    const ana = await makeAgent(baton, 'push-leases', 'lease-ana');
    const inbox = channelInbox(ana.client);
    const bo = await makeAgent(baton, 'push-leases', 'lease-bo');
    await listening(ana, bo);
    const held = await ana.call('lease', { surface: 'src/db/**', ttl_seconds: 60 });
    const leaseId = held.body.lease_id as number;
    await sql`update leases set expires_at = now() - interval '1 second'
              where project_id = ${await projectId(baton, 'push-leases')} and id = ${leaseId}`.execute(
      baton.storage.db,
    );
    await bo.call('lease', { surface: 'src/db/pool.ts' });

    const push = await inbox.next((c) => c.meta.kind === 'lease_lost');
    expect(push.meta).toEqual({
      kind: 'lease_lost',
      lease_id: String(leaseId),
      surface: 'src/db/**',
      from: bo.actor,
    });
    expect(push.content).toMatch(/src\/db\/\*\* expired and was taken over by .*lease-bo/);
  });

  it('tells the new owner when a task is assigned to it, and nobody of their own acts', async () => {
    const ana = await makeAgent(baton, 'push-tasks', 'task-ana');
    const bo = await makeAgent(baton, 'push-tasks', 'task-bo');
    const toAna = channelInbox(ana.client);
    const toBo = channelInbox(bo.client);
    await listening(ana, bo);

    const created = await ana.call('task_create', { title: 'Write the upgrade notes' });
    const taskId = (created.body.task as { task_id: number }).task_id;
    await ana.call('task_assign', { task_id: taskId, owner: bo.actor });
    const push = await toBo.next((c) => c.meta.kind === 'task_assigned');
    expect(push).toEqual({
      content: `${ana.actor} assigned you task ${taskId}: Write the upgrade notes. See it with task_get; start it with task_start.`,
      meta: { kind: 'task_assigned', task_id: String(taskId), from: ana.actor },
    });
    // Created with an owner counts as assigned; giving yourself a task pushes nothing.
    const direct = await bo.call('task_create', { title: 'Review the notes', owner: ana.actor });
    const directId = String((direct.body.task as { task_id: number }).task_id);
    await toAna.next((c) => c.meta.task_id === directId);
    await bo.call('task_create', { title: 'Mine', owner: bo.actor });
    await bo.call('whoami');
    expect(toBo.received.map((c) => c.meta.task_id)).toEqual([String(taskId)]);
  });
});

describe('the GET stream itself', () => {
  it('resumes from Last-Event-ID with what was missed and nothing twice', async () => {
    const ana = await baton.seed({ projectSlug: 'push-resume', label: 'resume-ana' });
    const bo = await makeAgent(baton, 'push-resume', 'resume-bo');
    const session = await rawSession(baton.mcpUrl, ana.token);
    const headers = { authorization: `Bearer ${ana.token}`, 'mcp-session-id': session };

    const first = await readSse(baton.mcpUrl, headers);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await eventually(() => expect(first.lastId()).toBeDefined());
    const posted: string[] = [];
    const post = async (body: string) =>
      posted.push(String((await callOk(bo.client, 'post', { to_actor: ana.actor, body })).post_id));
    await post('one');
    await post('two');
    const seen = await first.waitFor(2);
    first.close();
    // Ids are ledger seqs, increasing.
    const ids = seen.map((e) => Number(e.id));
    expect(ids[1]).toBeGreaterThan(ids[0] as number);

    await post('three');
    await post('four');
    await bo.call('register', { lane: 'unrelated' });
    const again = await readSse(baton.mcpUrl, {
      ...headers,
      'last-event-id': first.lastId() as string,
    });
    const resumed = await again.waitFor(2);
    await post('five');
    const all = await again.waitFor(3);
    expect(all.map((e) => channelOf(e).meta.post_id)).toEqual(posted.slice(2));
    expect(resumed.map((e) => Number(e.id)).every((id) => id > (ids[1] as number))).toBe(true);
    // A round trip later: still exactly those three.
    await bo.call('whoami');
    expect(again.events).toHaveLength(3);
    again.close();

    // A Last-Event-ID beyond the head resumes at the head instead of skipping what comes next.
    const far = await readSse(baton.mcpUrl, { ...headers, 'last-event-id': '999999999' });
    await eventually(() => expect(far.lastId()).toBeDefined());
    await post('six');
    expect(channelOf((await far.waitFor(1))[0] as never).meta.post_id).toBe(posted[5]);
    far.close();
  });

  it('the SDK client, its stream cut, reconnects with Last-Event-ID and misses nothing', async () => {
    const ana = await makeAgent(baton, 'push-sdk-resume', 'sdk-ana');
    const bo = await makeAgent(baton, 'push-sdk-resume', 'sdk-bo');
    const inbox = channelInbox(ana.client);
    await listening(ana, bo);
    const post = async (body: string) =>
      String((await callOk(bo.client, 'post', { to_actor: ana.actor, body })).post_id);
    const first = await post('before the cut');
    await inbox.next((c) => c.meta.post_id === first);

    // Another stream on ana's session replaces the SDK's (as a reconnect would), then goes away.
    const session = (ana.client.transport as { sessionId?: string }).sessionId as string;
    const usurper = await readSse(baton.mcpUrl, {
      authorization: `Bearer ${ana.token}`,
      'mcp-session-id': session,
    });
    await eventually(() => expect(usurper.lastId()).toBeDefined());
    const during = await post('while the SDK is away');
    await usurper.waitFor(1);
    usurper.close();
    const after = await post('before it is back');

    // The SDK reconnects by itself (after the server's retry delay) with its Last-Event-ID.
    await inbox.next((c) => c.meta.post_id === after);
    await bo.call('whoami');
    expect(inbox.received.map((c) => c.meta.post_id)).toEqual([first, during, after]);
  });

  it('a new stream first pushes the posts never delivered, once', async () => {
    const ana = await baton.seed({ projectSlug: 'push-backlog', label: 'backlog-ana' });
    const bo = await makeAgent(baton, 'push-backlog', 'backlog-bo');
    const early = await bo.call('post', { to_actor: ana.actor, body: 'while you were away' });
    const read = await bo.call('post', { to_actor: ana.actor, body: 'already read' });
    await callApiRead(ana.token);
    const session = await rawSession(baton.mcpUrl, ana.token);
    const headers = { authorization: `Bearer ${ana.token}`, 'mcp-session-id': session };

    const stream = await readSse(baton.mcpUrl, headers);
    // The id-only event that places the stream in the ledger comes after the backlog.
    await eventually(() => expect(stream.lastId()).toBeDefined());
    expect(stream.events).toHaveLength(1);
    const [first] = stream.events;
    expect(first?.id).toBeUndefined();
    expect(channelOf(first as never).meta.post_id).toBe(String(early.body.post_id));
    expect(String(read.body.post_id)).not.toBe(String(early.body.post_id));
    stream.close();

    // Delivered by that push: a second fresh stream has nothing to catch up on.
    const second = await readSse(baton.mcpUrl, headers);
    await eventually(() => expect(second.lastId()).toBeDefined());
    await bo.call('whoami');
    expect(second.events).toEqual([]);
    second.close();
  });

  it('refuses what is not a stream request of this identity, with clear errors', async () => {
    const ana = await baton.seed({ projectSlug: 'push-refuse', label: 'refuse-ana' });
    const bo = await baton.seed({ projectSlug: 'push-refuse', label: 'refuse-bo' });
    const session = await rawSession(baton.mcpUrl, ana.token);
    const get = (headers: Record<string, string>) =>
      fetch(baton.mcpUrl, { headers: { accept: 'text/event-stream', ...headers } });
    const auth = { authorization: `Bearer ${ana.token}` };
    const open = baton.streams.count();

    expect((await get({ 'mcp-session-id': session })).status).toBe(401);
    const noSession = await get(auth);
    expect(noSession.status).toBe(400);
    expect(await noSession.text()).toMatch(/Mcp-Session-Id/);
    const foreign = await get({ authorization: `Bearer ${bo.token}`, 'mcp-session-id': session });
    expect(foreign.status).toBe(403);
    const gone = await get({ ...auth, 'mcp-session-id': 'x'.repeat(24) });
    expect(gone.status).toBe(404);
    const json = await fetch(baton.mcpUrl, {
      headers: { ...auth, accept: 'application/json', 'mcp-session-id': session },
    });
    expect(json.status).toBe(406);
    const badId = await get({ ...auth, 'mcp-session-id': session, 'last-event-id': 'abc' });
    expect(badId.status).toBe(400);
    expect(await badId.text()).toMatch(/Last-Event-ID/);
    expect(baton.streams.count()).toBe(open); // no refusal left a stream behind
  });

  it('ends the stream when its session ends, its token is revoked, or a newer stream replaces it', async () => {
    const ana = await baton.seed({ projectSlug: 'push-end', label: 'end-ana' });
    const session = await rawSession(baton.mcpUrl, ana.token);
    const headers = { authorization: `Bearer ${ana.token}`, 'mcp-session-id': session };

    const replaced = await readSse(baton.mcpUrl, headers);
    await eventually(() => expect(replaced.lastId()).toBeDefined());
    const newer = await readSse(baton.mcpUrl, headers);
    await replaced.ended;
    await eventually(() => expect(newer.lastId()).toBeDefined());

    const del = await fetch(baton.mcpUrl, { method: 'DELETE', headers });
    expect(del.status).toBe(204);
    await newer.ended;

    const session2 = await rawSession(baton.mcpUrl, ana.token);
    const revoked = await readSse(baton.mcpUrl, { ...headers, 'mcp-session-id': session2 });
    await eventually(() => expect(revoked.lastId()).toBeDefined());
    await sql`update tokens set revoked_at = now()
              where project_id = ${await projectId(baton, 'push-end')}`.execute(baton.storage.db);
    await baton.streams.revalidate();
    await revoked.ended;
    expect(revoked.comments).toBeGreaterThan(0); // the heartbeat written on the way
  });
});

async function callApiRead(token: string) {
  // read_posts marks what it returns delivered; only the newest post is read here.
  const res = await fetch(`${baton.baseUrl}/api/v1/tools/read_posts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to_me: true, limit: 1 }),
  });
  expect(res.status).toBe(200);
}
