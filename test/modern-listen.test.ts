import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { apiOk, projectId } from './helpers/agents.js';
import { startTestBaton, useTestBaton } from './helpers/baton.js';
import { eventually } from './helpers/sse.js';
import {
  callModern,
  modernPost,
  closeModernClients,
  connectModern,
  resourceUpdates,
} from './helpers/modern.js';

// Push for modern clients: subscriptions/listen over the caller's resources, through the
// official 2.x client. (Across processes: modern-processes.test.ts.)

const baton = useTestBaton({ streamHeartbeatMs: 200 });
afterAll(closeModernClients);

const ALL = ['baton://inbox', 'baton://leases', 'baton://tasks'];

/** A modern client of `label` in `project`, listening to `uris`. */
async function listener(project: string, label: string, uris = ALL, admin = false) {
  const seeded = await baton.seed({ projectSlug: project, label, admin });
  const client = await connectModern(baton.mcpUrl, seeded.token);
  const updates = resourceUpdates(client);
  const subscription = await client.listen({ resourceSubscriptions: uris });
  return { ...seeded, client, updates, subscription };
}

const inboxOf = async (client: Awaited<ReturnType<typeof listener>>['client']) =>
  JSON.parse(
    ((await client.readResource({ uri: 'baton://inbox' })).contents[0] as { text: string }).text,
  ) as { posts: { post_id: number; body: string }[] };

describe('subscriptions/listen', () => {
  it('acknowledges the resources it serves and no others', async () => {
    const me = await listener('listen-ack', 'acker', [
      'baton://inbox',
      'baton://nowhere',
      'baton://inbox',
    ]);
    expect(me.subscription.honoredFilter).toEqual({ resourceSubscriptions: ['baton://inbox'] });
    expect(baton.streams.count('listen')).toBeGreaterThanOrEqual(1);
  });

  it('refuses an id longer than 200 characters, which every notification would repeat', async () => {
    const { token } = await baton.seed({ projectSlug: 'listen-id', label: 'long-id' });
    const res = await modernPost(baton.mcpUrl, token, {
      id: 'x'.repeat(201),
      method: 'subscriptions/listen',
      params: { notifications: { resourceSubscriptions: ['baton://inbox'] } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/at most 200 characters; send a shorter one/);
  });

  it('announces the inbox when a post reaches the caller; reading it returns the post and delivers it', async () => {
    const me = await listener('listen-post', 'reader');
    const peer = await baton.seed({ projectSlug: 'listen-post', label: 'writer' });
    const sent = await apiOk(baton, peer.token, 'post', {
      to_actor: me.actor,
      body: 'review the guide',
    });
    await me.updates.next('baton://inbox');
    const inbox = await inboxOf(me.client);
    expect(inbox.posts.map((p) => p.post_id)).toEqual([sent.post_id]);
    const receipts = (await apiOk(baton, peer.token, 'read_posts', { sent: true })).posts[0]
      .receipts;
    expect(receipts).toEqual({ delivered: [me.actor], acked: [], not_acked: [me.actor] });
  });

  it('announces lane posts and broadcasts to their recipients, never the sender its own', async () => {
    const me = await listener('listen-broadcast', 'lane-reader');
    await callModern(me.client, 'register', { lane: 'docs' });
    const sender = await listener('listen-broadcast', 'announcer');
    await apiOk(baton, sender.token, 'post', { broadcast: true, body: 'release at noon' });
    await me.updates.next('baton://inbox', 1);
    await apiOk(baton, sender.token, 'post', { to_lane: 'docs', body: 'docs freeze' });
    await me.updates.next('baton://inbox', 2);
    // The sender heard nothing of its own posts: a post to it afterwards is its first update.
    await apiOk(baton, me.token, 'post', { to_actor: sender.actor, body: 'noted' });
    await sender.updates.next('baton://inbox', 1);
    expect(sender.updates.uris).toEqual(['baton://inbox']);
  });

  it("announces the leases when one of the caller's expired leases is taken over", async () => {
    const me = await listener('listen-lease', 'lease-holder');
    const other = await baton.seed({ projectSlug: 'listen-lease', label: 'lease-taker' });
    const held = await callModern(me.client, 'lease', { surface: 'src/db/**', ttl_seconds: 60 });
    await sql`update leases set expires_at = now() - interval '1 second'
              where project_id = ${await projectId(baton, 'listen-lease')}
                and id = ${held.body.lease_id}`.execute(baton.storage.db);
    await apiOk(baton, other.token, 'lease', { surface: 'src/db/pool.ts' });
    await me.updates.next('baton://leases');
    const leases = JSON.parse(
      ((await me.client.readResource({ uri: 'baton://leases' })).contents[0] as { text: string })
        .text,
    );
    expect(leases.leases).toEqual([]);
    expect(me.updates.uris).not.toContain('baton://inbox');
  });

  it('announces the tasks when a task is assigned to the caller', async () => {
    const me = await listener('listen-task', 'assignee');
    const lead = await baton.seed({ projectSlug: 'listen-task', label: 'lead' });
    const created = await apiOk(baton, lead.token, 'task_create', {
      title: 'Write the upgrade notes',
    });
    await apiOk(baton, lead.token, 'task_assign', {
      task_id: created.task.task_id,
      owner: me.actor,
    });
    await me.updates.next('baton://tasks');
    const tasks = JSON.parse(
      ((await me.client.readResource({ uri: 'baton://tasks' })).contents[0] as { text: string })
        .text,
    );
    expect(tasks.tasks.map((t: { task_id: number }) => t.task_id)).toEqual([created.task.task_id]);
  });

  it('sends only what was subscribed', async () => {
    const me = await listener('listen-only', 'inbox-only', ['baton://tasks']);
    const lead = await baton.seed({ projectSlug: 'listen-only', label: 'only-lead' });
    await apiOk(baton, lead.token, 'post', { to_actor: me.actor, body: 'not announced' });
    await apiOk(baton, lead.token, 'task_create', { title: 'announced', owner: me.actor });
    await me.updates.next('baton://tasks');
    expect(me.updates.uris).toEqual(['baton://tasks']);
  });

  it('never announces anything from another project, even to a same-named identity', async () => {
    const me = await listener('listen-home', 'twin');
    const home = await baton.seed({ projectSlug: 'listen-home', label: 'neighbour' });
    // The same owner's participant "twin" in another project, and everything that would notify it.
    const abroad = await baton.seed({ projectSlug: 'listen-abroad', label: 'twin' });
    const stranger = await baton.seed({ projectSlug: 'listen-abroad', label: 'stranger' });
    await apiOk(baton, stranger.token, 'post', { to_actor: abroad.actor, body: 'abroad, direct' });
    await apiOk(baton, stranger.token, 'post', { broadcast: true, body: 'abroad, to everyone' });
    await apiOk(baton, stranger.token, 'task_create', { title: 'abroad', owner: abroad.actor });
    // Then one thing at home; it is the only update.
    await apiOk(baton, home.token, 'post', { to_actor: me.actor, body: 'home' });
    await me.updates.next('baton://inbox');
    await apiOk(baton, home.token, 'task_create', { title: 'home', owner: me.actor });
    await me.updates.next('baton://tasks');
    expect(me.updates.uris).toEqual(['baton://inbox', 'baton://tasks']);
    expect((await inboxOf(me.client)).posts.map((p) => p.body)).toEqual(['home']);
  });

  it('says at once when the inbox already holds posts never delivered', async () => {
    const peer = await baton.seed({ projectSlug: 'listen-backlog', label: 'early' });
    const later = await baton.seed({ projectSlug: 'listen-backlog', label: 'late' });
    await apiOk(baton, peer.token, 'post', { to_actor: later.actor, body: 'while you were away' });
    const client = await connectModern(baton.mcpUrl, later.token);
    const updates = resourceUpdates(client);
    await client.listen({ resourceSubscriptions: ['baton://inbox'] });
    await updates.next('baton://inbox');
  });

  it('ends when its token is revoked', async () => {
    const admin = await listener('listen-revoke', 'revoker', ALL, true);
    const me = await listener('listen-revoke', 'revoked');
    await callModern(admin.client, 'admin_revoke', { participant: 'revoked' });
    expect(await me.subscription.closed).toBe('remote');
  });

  it('ends with its result when the server shuts down', async () => {
    const own = await startTestBaton();
    try {
      const seeded = await own.seed({ label: 'shutdown' });
      const client = await connectModern(own.mcpUrl, seeded.token);
      const subscription = await client.listen({ resourceSubscriptions: ['baton://inbox'] });
      await eventually(() => expect(own.streams.count('listen')).toBe(1));
      own.streams.close();
      expect(await subscription.closed).toBe('graceful');
    } finally {
      await own.close();
    }
  });
});
