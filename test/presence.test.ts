import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { notifyAccessChanged } from '../src/db/ledger.js';
import { transact } from '../src/db/pool.js';
import { call, callErr, callOk, useTestBaton } from './helpers/baton.js';

const baton = useTestBaton();

interface Active {
  actor: string;
  lane: string | null;
  status: string | null;
  last_seen: string;
}

const actors = (body: Record<string, unknown>) => (body.active as Active[]).map((a) => a.actor);

/**
 * Pretends a participant was last seen `seconds` ago; waits for in-flight liveness writes first.
 * The server remembers what it last saw of the token (its liveness included), so the change is
 * made as Baton's own access changes are: notified at commit, on the server's pool.
 */
async function seenAgo(actor: string, seconds: number) {
  await baton.settle();
  const [handle, label] = actor.split('/');
  await transact(baton.storage.db, async (trx) => {
    const { rows } = await sql<{ project_id: string }>`
      update participations pa set last_seen_at = now() - make_interval(secs => ${seconds})
      from participants p join owners o on o.id = p.owner_id
      where p.id = pa.participant_id and o.handle = ${handle} and p.label = ${label}
      returning pa.project_id`.execute(trx);
    for (const r of rows) await notifyAccessChanged(trx, r.project_id);
  });
}

describe('register and who_is_active', () => {
  it('register sets my lane and status, records it, and others see it', async () => {
    const ana = await baton.seed({ projectSlug: 'presence-1', label: 'ana' });
    const bo = await baton.seed({ projectSlug: 'presence-1', label: 'bo' });
    const a = await baton.connect(ana.token);
    const b = await baton.connect(bo.token);

    expect(await callOk(a, 'register', { lane: 'docs', status: 'writing the guide' })).toEqual({
      actor: ana.actor,
      lane: 'docs',
      status: 'writing the guide',
      previous_lane: null,
    });
    expect(await callOk(a, 'whoami')).toMatchObject({ lane: 'docs' });
    const seen = await callOk(b, 'who_is_active');
    expect(seen.window_seconds).toBe(900);
    expect(seen.active).toContainEqual(
      expect.objectContaining({
        actor: ana.actor,
        kind: 'agent',
        lane: 'docs',
        status: 'writing the guide',
      }),
    );

    // Moving lanes reports where I came from; omitting status clears it.
    expect(await callOk(a, 'register', { lane: 'api' })).toMatchObject({
      lane: 'api',
      status: null,
      previous_lane: 'docs',
    });
    const events = await callOk(b, 'query_events', { type: 'register', actor: ana.actor });
    expect((events.events as { data: unknown }[]).map((e) => e.data)).toEqual([
      { lane: 'api', previous_lane: 'docs' },
      { lane: 'docs', status: 'writing the guide', previous_lane: null },
    ]);
  });

  it('who_is_active honours the window and lanes, and counts me as active', async () => {
    const slug = 'presence-2';
    const me = await baton.seed({ projectSlug: slug, label: 'w-me' });
    const bo = await baton.seed({ projectSlug: slug, label: 'w-bo' });
    const cy = await baton.seed({ projectSlug: slug, label: 'w-cy' });
    const dee = await baton.seed({ projectSlug: slug, label: 'w-dee' }); // never calls
    await callOk(await baton.connect(bo.token), 'register', { lane: 'api' });
    await callOk(await baton.connect(cy.token), 'register', { lane: 'docs' });
    const client = await baton.connect(me.token);
    await seenAgo(bo.actor, 20 * 60);
    await seenAgo(me.actor, 60 * 60); // my own write has not landed yet: I am still active

    expect(actors(await callOk(client, 'who_is_active'))).toEqual([me.actor, cy.actor]);
    const hour = await callOk(client, 'who_is_active', { within_seconds: 3600 });
    expect(hour.window_seconds).toBe(3600);
    expect(actors(hour)).toEqual([me.actor, cy.actor, bo.actor]);
    expect(actors(hour)).not.toContain(dee.actor);
    expect(actors(await callOk(client, 'who_is_active', { lane: 'docs' }))).toEqual([cy.actor]);
    expect(actors(await callOk(client, 'who_is_active', { lane: 'api' }))).toEqual([]);
    expect(
      actors(await callOk(client, 'who_is_active', { lane: 'api', within_seconds: 3600 })),
    ).toEqual([bo.actor]);

    const typo = await callErr(client, 'who_is_active', { lane: 'dcos' });
    expect(typo.code).toBe('not_found');
    expect(typo.message).toBe('lane: nobody has ever been in lane "dcos"; known lanes: api, docs');
    for (const within_seconds of [0, 9, 604_801, 1.5]) {
      expect((await callErr(client, 'who_is_active', { within_seconds })).code).toBe(
        'invalid_argument',
      );
    }
  });

  it('set_liveness_window is for admins, changes the default window, and is recorded', async () => {
    const slug = 'presence-3';
    const admin = await baton.seed({ projectSlug: slug, label: 'a-lead', admin: true });
    const bo = await baton.seed({ projectSlug: slug, label: 'a-bo' });
    const lead = await baton.connect(admin.token);
    const b = await baton.connect(bo.token);
    const refused = await callErr(b, 'set_liveness_window', { seconds: 1800 });
    expect(refused.code).toBe('forbidden');
    expect(refused.message).toMatch(/for project admins/);
    await seenAgo(bo.actor, 20 * 60); // after bo's last call, which refreshed it

    expect(actors(await callOk(lead, 'who_is_active'))).toEqual([admin.actor]);

    expect(await callOk(lead, 'set_liveness_window', { seconds: 1800 })).toEqual({
      window_seconds: 1800,
      previous: 900,
    });
    const wider = await callOk(lead, 'who_is_active');
    expect(wider.window_seconds).toBe(1800);
    expect(actors(wider)).toEqual([admin.actor, bo.actor]);
    const recorded = await callOk(lead, 'query_events', { type: 'liveness_window_set' });
    expect(recorded.events).toEqual([
      expect.objectContaining({
        actor: admin.actor,
        data: { seconds: 1800, previous: 900, via: 'mcp' },
      }),
    ]);
    for (const seconds of [9, 604_801]) {
      expect((await callErr(lead, 'set_liveness_window', { seconds })).code).toBe(
        'invalid_argument',
      );
    }
  });

  it('refuses a malformed lane or status on register', async () => {
    const { token } = await baton.seed({ projectSlug: 'presence-4', label: 'ana' });
    const client = await baton.connect(token);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /lane: is required/],
      [{ lane: 'Docs' }, /lane: a lane is 1–64 characters/],
      [{ lane: 'x'.repeat(65) }, /lane: a lane is 1–64 characters/],
      [{ lane: 'docs', status: 'x'.repeat(201) }, /status: must be at most 200/],
      [{ lane: 'docs', status: 'a\u0000b' }, /status: must be one line/],
    ];
    for (const [args, message] of cases) {
      const error = await callErr(client, 'register', args);
      expect(error.code).toBe('invalid_argument');
      expect(error.message).toMatch(message);
    }
  });
});

describe('implicit liveness', () => {
  // Counts every forward move of last_seen_at. Backdating (moving it back) is not counted.
  beforeAll(async () => {
    await sql`create table liveness_writes (participation_id bigint not null)`.execute(
      baton.storage.db,
    );
    await sql`
      create function count_liveness_write() returns trigger language plpgsql as $$
      begin
        insert into liveness_writes values (new.id);
        return null;
      end $$`.execute(baton.storage.db);
    await sql`
      create trigger count_liveness_write after update of last_seen_at on participations
      for each row when (new.last_seen_at > old.last_seen_at or old.last_seen_at is null)
      execute function count_liveness_write()`.execute(baton.storage.db);
  });

  const writes = async () => {
    await baton.settle();
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from liveness_writes`.execute(baton.storage.db);
    return rows[0]?.n ?? 0;
  };
  const clearWrites = () => sql`truncate liveness_writes`.execute(baton.storage.db);
  const lastSeen = async (actor: string) =>
    (
      await sql<{ age: number }>`
        select extract(epoch from now() - pa.last_seen_at)::float8 as age
        from participations pa join participants p on p.id = pa.participant_id
        where p.label = ${actor.split('/')[1]}`.execute(baton.storage.db)
    ).rows[0]?.age;

  it('any call refreshes liveness, written at most once per participation per 10 s', async () => {
    const ana = await baton.seed({ projectSlug: 'liveness', label: 'live-ana' });
    const sessions = await Promise.all(Array.from({ length: 4 }, () => baton.connect(ana.token)));
    const [first] = sessions;
    if (!first) throw new Error('no session');
    await seenAgo(ana.actor, 3600);
    await clearWrites();

    // 40 calls of every kind: concurrent and sequential, read and write, MCP and plain HTTP,
    // and even a refused one.
    await Promise.all(
      sessions.flatMap((c) => [
        callOk(c, 'whoami'),
        callOk(c, 'who_is_active'),
        c.listTools(),
        call(c, 'register', { lane: 'Bad Lane' }),
      ]),
    );
    for (let i = 0; i < 12; i++) await callOk(first, i % 2 ? 'whoami' : 'read_posts');
    await Promise.all(
      Array.from({ length: 12 }, () =>
        fetch(`${baton.baseUrl}/api/v1/tools/whoami`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ana.token}` },
        }),
      ),
    );
    expect(await writes()).toBe(1);
    expect(await lastSeen(ana.actor)).toBeLessThan(60);

    // Ten seconds later (simulated), the next call writes once more, and only once.
    await seenAgo(ana.actor, 11);
    await clearWrites();
    await Promise.all(sessions.map((c) => callOk(c, 'whoami')));
    for (let i = 0; i < 10; i++) await callOk(first, 'whoami');
    expect(await writes()).toBe(1);

    // Within the 10 s nothing is written, however many calls.
    await clearWrites();
    await seenAgo(ana.actor, 5);
    for (let i = 0; i < 10; i++) await callOk(first, 'whoami');
    expect(await writes()).toBe(0);
  });
});
