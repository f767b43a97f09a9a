import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { call, useTestBaton } from './helpers/baton.js';

const baton = useTestBaton();

async function agent(label: string) {
  const s = await baton.seed({ projectSlug: 'rollup', label });
  return { ...s, client: await baton.connect(s.token) };
}

async function ok(
  a: Awaited<ReturnType<typeof agent>>,
  tool: string,
  args: Record<string, unknown> = {},
) {
  const r = await call(a.client, tool, args);
  if (r.isError) throw new Error(`${tool}: ${JSON.stringify(r.body)}`);
  return r.body as Record<string, any>;
}

describe('status', () => {
  it('reports active participants, live and orphaned leases, task counts, stale tasks, my unacked posts, recent events and claims', async () => {
    const me = await agent('me');
    const busy = await agent('busy');
    const gone = await agent('gone');
    await ok(busy, 'register', { lane: 'api', status: 'refactoring the pool' });
    await ok(busy, 'lease', { surface: 'src/db/**' });
    await ok(gone, 'lease', { surface: 'docs/guide.md', ttl_seconds: 600 });
    const t1 = (await ok(me, 'task_create', { title: 'one' })).task.task_id;
    await ok(me, 'task_create', { title: 'two' });
    const t3 = (await ok(me, 'task_create', { title: 'three' })).task.task_id;
    await ok(gone, 'task_start', { task_id: t3 });
    await ok(me, 'task_start', { task_id: t1 });
    await ok(me, 'task_ship', { task_id: t1 });
    await ok(busy, 'claim', { sequence: 'adr', note: 'ADR on pooling' });
    const posted = await ok(busy, 'post', {
      to_actor: me.actor,
      body: 'the pool is yours next',
      subject: 'handoff',
    });
    // "gone" falls silent: its last sign of life is an hour old.
    await sql`update participations set last_seen_at = now() - interval '1 hour'
      where id = (select participation_id from tokens where token_hash = sha256(${gone.token}::bytea))`.execute(
      baton.storage.db,
    );

    const s = await ok(me, 'status');
    expect(s.active.map((a: any) => a.actor).sort()).toEqual([busy.actor, me.actor].sort());
    expect(s.active.find((a: any) => a.actor === busy.actor)).toMatchObject({
      lane: 'api',
      status: 'refactoring the pool',
    });
    expect(s.leases).toEqual([
      expect.objectContaining({ actor: busy.actor, surface: 'src/db/**', mode: 'exclusive' }),
    ]);
    expect(s.orphaned_leases).toEqual([
      expect.objectContaining({ actor: gone.actor, surface: 'docs/guide.md' }),
    ]);
    expect(s.tasks.counts).toEqual({
      open: 1,
      assigned: 0,
      in_progress: 1,
      blocked: 0,
      done: 1,
      cancelled: 0,
    });
    expect(s.tasks.stale).toEqual([
      expect.objectContaining({ task_id: t3, owner: gone.actor, status: 'in_progress' }),
    ]);
    expect(s.unacked_posts).toEqual({
      count: 1,
      latest: [{ post_id: posted.post_id, from: busy.actor, subject: 'handoff' }],
    });
    expect(s.recent_events).toHaveLength(10);
    const seqs = s.recent_events.map((e: any) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a: number, b: number) => b - a));
    expect(s.recent_events[0]).toMatchObject({
      type: 'post',
      actor: busy.actor,
      post_id: posted.post_id,
    });
    expect(s.latest_claims).toEqual([
      expect.objectContaining({ sequence: 'adr', formatted: '1', by: busy.actor }),
    ]);

    // The whats_new digest carries my leases, my tasks and the latest claims too.
    await ok(me, 'lease', { surface: 'lane:release' });
    const t4 = (await ok(me, 'task_create', { title: 'mine', owner: me.actor })).task.task_id;
    const digest = (await ok(me, 'whats_new', { advance: false, limit: 1 })).digest;
    expect(digest.live_leases).toEqual([
      expect.objectContaining({ surface: 'lane:release', mode: 'exclusive' }),
    ]);
    expect(digest.my_tasks).toEqual([
      { task_id: t4, title: 'mine', status: 'assigned', lane: null },
    ]);
    expect(digest.latest_claims).toEqual([
      expect.objectContaining({ sequence: 'adr', by: busy.actor }),
    ]);
    expect(digest.unacked_posts.count).toBe(1);
  });
});
