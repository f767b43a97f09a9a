import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { existingTaskIds } from '../src/db/tasks.js';
import { call, useTestBaton } from './helpers/baton.js';
import { rolledBack } from './helpers/db.js';

const baton = useTestBaton({ poolMax: 20 });

async function agent(projectSlug: string, label: string, admin = false) {
  const s = await baton.seed({ projectSlug, label, admin });
  return { ...s, client: await baton.connect(s.token) };
}

type Agent = Awaited<ReturnType<typeof agent>>;

async function ok(a: Agent, tool: string, args: Record<string, unknown> = {}) {
  const r = await call(a.client, tool, args);
  if (r.isError) throw new Error(`${tool} failed: ${JSON.stringify(r.body)}`);
  return r.body as Record<string, any>;
}

async function refused(a: Agent, tool: string, args: Record<string, unknown>) {
  const r = await call(a.client, tool, args);
  expect(r.isError, `${tool} should have been refused`).toBe(true);
  return r.body.error as { code: string; message: string };
}

async function create(
  a: Agent,
  title: string,
  extra: Record<string, unknown> = {},
): Promise<number> {
  return (await ok(a, 'task_create', { title, ...extra })).task.task_id;
}

async function projectId(slug: string) {
  return (
    await baton.storage.db
      .selectFrom('projects')
      .select('id')
      .where('slug', '=', slug)
      .executeTakeFirstOrThrow()
  ).id;
}

async function eventsOf(slug: string, type: string) {
  return baton.storage.db
    .selectFrom('events')
    .selectAll()
    .where('project_id', '=', await projectId(slug))
    .where('type', '=', type)
    .orderBy('seq')
    .execute();
}

describe('task_start under concurrency', () => {
  it('of 50 concurrent starters on one unassigned task exactly one wins, with one start event', async () => {
    const lead = await agent('race-start', 'lead');
    const id = await create(lead, 'contended');
    const agents = await Promise.all(
      Array.from({ length: 50 }, (_, i) => agent('race-start', `starter-${i}`)),
    );
    const results = await Promise.all(
      agents.map((a) => call(a.client, 'task_start', { task_id: id })),
    );
    const winners = results.filter((r) => !r.isError);
    expect(winners).toHaveLength(1);
    for (const r of results.filter((x) => x.isError)) {
      expect(['conflict', 'forbidden']).toContain((r.body.error as { code: string }).code);
    }
    const starts = await eventsOf('race-start', 'task_started');
    expect(starts).toHaveLength(1);
    expect(starts[0]?.task_id).toBe(String(id));
    const winner = (winners[0]?.body.task as { owner: string }).owner;
    expect(starts[0]?.actor).toBe(winner);
  });
});

describe('task_claim_next under concurrency', () => {
  it('hands 20 ready tasks to 20 of 50 concurrent callers, each once; 30 get none', async () => {
    const lead = await agent('race-claim', 'lead');
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push(await create(lead, `job ${i}`));
    // Not ready: waits on an undone task; and one assigned to someone else.
    const gate = await create(lead, 'gate');
    await create(lead, 'gated', { depends_on: [gate] });
    ids.push(gate);
    const agents = await Promise.all(
      Array.from({ length: 50 }, (_, i) => agent('race-claim', `claimer-${i}`)),
    );
    // the lead takes the gate first, so exactly 20 ready tasks remain
    await ok(lead, 'task_start', { task_id: gate });
    const results = await Promise.all(agents.map((a) => ok(a, 'task_claim_next')));
    const got = results
      .map((r) => r.task?.task_id)
      .filter((x): x is number => typeof x === 'number');
    expect(got).toHaveLength(20);
    expect(new Set(got).size).toBe(20);
    expect(results.filter((r) => r.task === null)).toHaveLength(30);
    expect(got.every((id) => ids.includes(id) && id !== gate)).toBe(true);
    expect(results.filter((r) => r.task).every((r) => r.task.status === 'in_progress')).toBe(true);
  });
});

describe('readiness, blocking and cycles', () => {
  it('a dependency not done keeps a task unready and unstartable; shipping it makes the task ready', async () => {
    const a = await agent('deps', 'ana');
    const first = await create(a, 'first');
    const second = await create(a, 'second', { depends_on: [first] });
    expect((await ok(a, 'task_get', { task_id: second })).task.ready).toBe(false);
    const e = await refused(a, 'task_start', { task_id: second });
    expect(e.code).toBe('conflict');
    expect(e.message).toMatch(new RegExp(`waits for task ${first} \\(open\\)`));
    await ok(a, 'task_start', { task_id: first });
    await ok(a, 'task_ship', { task_id: first, ref: 'PR #1' });
    expect((await ok(a, 'task_get', { task_id: second })).task.ready).toBe(true);
    expect((await ok(a, 'task_start', { task_id: second })).task.status).toBe('in_progress');
  });

  it('blocks without `on`, refuses self-blocks and cycles through depends_on and on', async () => {
    const a = await agent('cycles', 'ana');
    const x = await create(a, 'x');
    const y = await create(a, 'y', { depends_on: [x] });
    const z = await create(a, 'z');
    await ok(a, 'task_start', { task_id: z });
    const blocked = await ok(a, 'task_block', { task_id: z, reason: 'waiting for credentials' });
    expect(blocked.task.status).toBe('blocked');
    expect((await refused(a, 'task_block', { task_id: x, on: x, reason: 'me' })).message).toMatch(
      /cannot block itself/,
    );
    // y depends on x, so x waiting on y is a cycle.
    const cyc = await refused(a, 'task_block', { task_id: x, on: y, reason: 'loop' });
    expect(cyc.code).toBe('invalid_argument');
    expect(cyc.message).toMatch(/cycle/);
    // a chain through blockers: z waits on x (blocker), so x waiting on z is a cycle too.
    await ok(a, 'task_block', { task_id: z, on: x, reason: 'needs x' });
    expect((await refused(a, 'task_block', { task_id: x, on: z, reason: 'loop' })).message).toMatch(
      /cycle/,
    );
    // an open task with a blocker is not ready
    await ok(a, 'task_block', { task_id: y, reason: 'hold' });
    expect(
      (await ok(a, 'list_tasks', { ready_only: true })).tasks.map((t: any) => t.task_id),
    ).toEqual([x]);
  });

  it('shipping a task resolves blockers on it; a blocked task with none left returns to in_progress', async () => {
    const a = await agent('unblock', 'ana');
    const dep = await create(a, 'dependency');
    const work = await create(a, 'work');
    await ok(a, 'task_start', { task_id: work });
    await ok(a, 'task_block', { task_id: work, on: dep, reason: 'needs dep' });
    const manual = await ok(a, 'task_block', { task_id: work, reason: 'also needs a review' });
    await ok(a, 'task_start', { task_id: dep });
    await ok(a, 'task_ship', { task_id: dep });
    let w = await ok(a, 'task_get', { task_id: work });
    expect(w.task.status).toBe('blocked'); // one blocker still open
    expect(w.blockers.filter((b: any) => b.resolved_at === null)).toHaveLength(1);
    const r = await ok(a, 'task_resolve', { task_id: work, blocker_id: manual.blocker_id });
    expect(r.task.status).toBe('in_progress');
    w = await ok(a, 'task_get', { task_id: work });
    expect(w.history.map((h: any) => h.type)).toEqual([
      'task_created',
      'task_started',
      'task_blocked',
      'task_blocked',
      'task_unblocked',
      'task_unblocked',
    ]);
    expect(
      (await eventsOf('unblock', 'task_unblocked')).every((e) => e.task_id === String(work)),
    ).toBe(true);
  });
});

describe('claims that expire', () => {
  it('returns a claimed task to ready when its holder goes silent, with task_reclaimed, and hands it on', async () => {
    const holder = await agent('reclaim', 'holder');
    const next = await agent('reclaim', 'next');
    const id = await create(holder, 'long job');
    const claimed = await ok(holder, 'task_claim_next', { lease_seconds: 60 });
    expect(claimed.task).toMatchObject({ task_id: id, status: 'in_progress', lease_seconds: 60 });
    // Still active: nothing to take.
    expect((await ok(next, 'task_claim_next')).task).toBeNull();
    // Time passes for the holder: its last sign of life is now 61 s old.
    await sql`update participations set last_seen_at = now() - interval '61 seconds'
      where id = (select owner_participation_id from tasks where id = ${id})`.execute(
      baton.storage.db,
    );
    const taken = await ok(next, 'task_claim_next');
    expect(taken.task).toMatchObject({ task_id: id, owner: next.actor, status: 'in_progress' });
    const reclaimed = await eventsOf('reclaim', 'task_reclaimed');
    expect(reclaimed).toHaveLength(1);
    expect(reclaimed[0]).toMatchObject({
      task_id: String(id),
      data: { previous_owner: holder.actor, hold_seconds: 60 },
    });
  });

  it('never reclaims a task started with task_start', async () => {
    const a = await agent('no-reclaim', 'a');
    const b = await agent('no-reclaim', 'b');
    const id = await create(a, 'manual');
    await ok(a, 'task_start', { task_id: id });
    await sql`update participations set last_seen_at = now() - interval '1 day'
      where id = (select owner_participation_id from tasks where id = ${id})`.execute(
      baton.storage.db,
    );
    expect((await ok(b, 'task_claim_next')).task).toBeNull();
  });
});

describe('illegal transitions', () => {
  it('are refused naming the current state and what is allowed', async () => {
    const a = await agent('illegal', 'ana');
    const id = await create(a, 't');
    let e = await refused(a, 'task_ship', { task_id: id });
    expect(e).toMatchObject({
      code: 'conflict',
      message: `task ${id} is open; task_ship applies to in_progress tasks (start it with task_start)`,
    });
    e = await refused(a, 'task_reopen', { task_id: id });
    expect(e.message).toBe(
      `task ${id} is open; task_reopen applies to done or cancelled tasks (start it with task_start)`,
    );
    await ok(a, 'task_start', { task_id: id });
    await ok(a, 'task_ship', { task_id: id });
    e = await refused(a, 'task_start', { task_id: id });
    expect(e.message).toBe(
      `task ${id} is done; task_start applies to open or assigned tasks (reopen it with task_reopen)`,
    );
    expect((await ok(a, 'task_reopen', { task_id: id })).task.status).toBe('assigned');
    expect((await ok(a, 'task_cancel', { task_id: id, reason: 'not needed' })).task.status).toBe(
      'cancelled',
    );
    expect((await refused(a, 'task_get', { task_id: 999999 })).code).toBe('not_found');
  });

  it('keeps others out of a task that is not theirs', async () => {
    const a = await agent('rights', 'ana');
    const b = await agent('rights', 'bo');
    const id = await create(a, 'ana only', { owner: a.actor });
    expect((await refused(b, 'task_start', { task_id: id })).code).toBe('forbidden');
    await ok(a, 'task_start', { task_id: id });
    expect((await refused(b, 'task_ship', { task_id: id })).code).toBe('forbidden');
    expect((await refused(b, 'task_cancel', { task_id: id, reason: 'x' })).code).toBe('forbidden');
    expect((await refused(b, 'task_create', { title: 'x', owner: 'nobody/here' })).code).toBe(
      'not_found',
    );
  });
});

describe('list_tasks', () => {
  it('returns exactly the ready tasks, filters by lane and owner, and pages losslessly', async () => {
    const a = await agent('listing', 'ana');
    const b = await agent('listing', 'bo');
    const made: number[] = [];
    for (let i = 0; i < 23; i++)
      made.push(
        await create(a, `t${i}`, {
          lane: i % 2 ? 'docs' : 'api',
          owner: i % 3 === 0 ? b.actor : undefined,
        }),
      );
    const blocker = made[0] as number;
    await ok(b, 'task_start', { task_id: blocker });
    const dependent = await create(a, 'dependent', { depends_on: [blocker], lane: 'api' });
    await ok(a, 'task_block', { task_id: made[1] as number, reason: 'held' });

    const all: number[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await ok(a, 'list_tasks', { limit: 5, ...(cursor ? { cursor } : {}) });
      all.push(...page.tasks.map((t: any) => t.task_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(all).toEqual([...made, dependent]);

    const ready = (await ok(a, 'list_tasks', { ready_only: true, limit: 200 })).tasks.map(
      (t: any) => t.task_id,
    );
    const expected = made.filter((id) => id !== blocker && id !== made[1]);
    expect(ready).toEqual(expected);
    const docs = (await ok(a, 'list_tasks', { lane: 'docs', limit: 200 })).tasks;
    expect(docs.every((t: any) => t.lane === 'docs')).toBe(true);
    expect(docs).toHaveLength(11);
    const bos = (await ok(a, 'list_tasks', { owner: b.actor, limit: 200 })).tasks;
    expect(bos.map((t: any) => t.task_id)).toEqual(made.filter((_, i) => i % 3 === 0));
    expect((await refused(a, 'list_tasks', { cursor: 'garbage' })).code).toBe('invalid_argument');
  });

  it('task_create is idempotent per key and refuses bad input clearly', async () => {
    const a = await agent('create', 'ana');
    const one = await ok(a, 'task_create', { title: 'once', idempotency_key: 'k1' });
    const two = await ok(a, 'task_create', { title: 'once', idempotency_key: 'k1' });
    expect(two.task.task_id).toBe(one.task.task_id);
    expect(two.repeated).toBe(true);
    expect(await eventsOf('create', 'task_created')).toHaveLength(1);
    expect((await refused(a, 'task_create', { title: '' })).code).toBe('invalid_argument');
    expect((await refused(a, 'task_create', { title: 'x'.repeat(201) })).message).toMatch(
      /title: must be at most 200/,
    );
    expect((await refused(a, 'task_create', { title: 'nul\u0000' })).message).toMatch(/NUL/);
    expect((await refused(a, 'task_create', { title: 'x', depends_on: [424242] })).code).toBe(
      'not_found',
    );
    expect((await refused(a, 'task_create', { title: 'x', depends_on: [-1] })).code).toBe(
      'invalid_argument',
    );
  });

  it('every task event carries task_id', async () => {
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from events where type like 'task%' and task_id is null`.execute(
      baton.storage.db,
    );
    expect(rows[0]?.n).toBe(0);
  });
});

describe('existingTaskIds', () => {
  it('finds the project’s tasks among the ids with one statement text, however many ids', async () => {
    const a = await agent('existing-ids', 'ana');
    const b = await agent('existing-ids-other', 'bo');
    const [one, two] = [String(await create(a, 'one')), String(await create(a, 'two'))];
    const foreign = String(await create(b, 'elsewhere'));
    const project = await projectId('existing-ids');
    await rolledBack(baton.storage.db, async (trx) => {
      // Each connection prepares a statement per distinct SQL text (src/db/pool.ts): an id list
      // spelt into the text would prepare one more statement for every new length.
      const prepared = async () =>
        (
          await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(
            trx,
          )
        ).rows[0]?.n;
      expect(await existingTaskIds(trx, project, [one])).toEqual(new Set([one]));
      const before = await prepared();
      expect(await existingTaskIds(trx, project, [one, two, '999999', foreign])).toEqual(
        new Set([one, two]),
      );
      expect(await existingTaskIds(trx, project, [foreign, '1000000'])).toEqual(new Set());
      expect(await existingTaskIds(trx, project, [])).toEqual(new Set());
      expect(await prepared()).toBe(before);
    });
  });
});
