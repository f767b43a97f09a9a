import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { useTestBaton } from './helpers/baton.js';
import { err, ledger, makeAgent, ok, projectId, type Agent } from './helpers/agents.js';

// lease, release, who_holds and check_paths end to end through the SDK client and the JSON API.
// Time travel is done by moving expires_at in the database, never by sleeping.

const MAX_LEASE_SECONDS = 1200;
const baton = useTestBaton({ env: { BATON_MAX_LEASE_SECONDS: String(MAX_LEASE_SECONDS) } });

/** Moves a lease's expiry relative to the database clock: negative is in the past. */
async function expireIn(leaseId: number, seconds: number) {
  await sql`update leases set expires_at = now() + make_interval(secs => ${seconds})
            where id = ${leaseId}`.execute(baton.storage.db);
}

async function stored(leaseId: number) {
  const { rows } = await sql<{ ttl: number; expires_at: Date }>`
    select extract(epoch from expires_at - granted_at)::integer as ttl, expires_at
    from leases where id = ${leaseId}`.execute(baton.storage.db);
  return rows[0];
}

describe('lease', () => {
  it('grants an exclusive lease with a fencing token, default TTL 900 s, and records it', async () => {
    const ana = await makeAgent(baton, 'grant', 'ana');
    const r = ok(await ana.call('lease', { surface: 'src/db/pool.ts', note: 'pool sizing' }));
    expect(r).toEqual({
      lease_id: expect.any(Number),
      surface: 'src/db/pool.ts',
      mode: 'exclusive',
      fencing_token: 1,
      ttl_seconds: 900,
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      renewed: false,
    });
    expect((await stored(r.lease_id))?.ttl).toBe(900);
    // The JSON API grants the same way.
    const api = await ana.api('lease', { surface: 'lane:grant', mode: 'shared', ttl_seconds: 30 });
    expect(api).toEqual({
      status: 200,
      body: expect.objectContaining({ surface: 'lane:grant', mode: 'shared', fencing_token: 2 }),
    });
    const [event] = await ledger(baton, 'grant', 'lease');
    expect(event).toMatchObject({
      actor: ana.actor,
      lease_id: String(r.lease_id),
      data: {
        surface: 'src/db/pool.ts',
        mode: 'exclusive',
        fencing_token: 1,
        ttl_seconds: 900,
        note: 'pool sizing',
        renewed: false,
      },
    });
  });

  it('clamps the TTL to BATON_MAX_LEASE_SECONDS and echoes the effective TTL', async () => {
    const ana = await makeAgent(baton, 'clamp', 'ana');
    const long = ok(await ana.call('lease', { surface: 'a.ts', ttl_seconds: 86_400 }));
    expect(long.ttl_seconds).toBe(MAX_LEASE_SECONDS);
    expect((await stored(long.lease_id))?.ttl).toBe(MAX_LEASE_SECONDS);
    const short = ok(await ana.call('lease', { surface: 'b.ts', ttl_seconds: 1 }));
    expect(short.ttl_seconds).toBe(1);
    expect(err(await ana.call('lease', { surface: 'c.ts', ttl_seconds: 0 })).code).toBe(
      'invalid_argument',
    );
  });

  it('renews on re-lease: same lease_id and fencing token, later expiry, no new event', async () => {
    const ana = await makeAgent(baton, 'renew', 'ana');
    const first = ok(await ana.call('lease', { surface: 'src/db/', ttl_seconds: 600 }));
    await expireIn(first.lease_id, 5);
    const before = (await stored(first.lease_id))?.expires_at as Date;
    const again = ok(await ana.call('lease', { surface: 'src/db/', ttl_seconds: 600 }));
    expect(again).toMatchObject({
      lease_id: first.lease_id,
      fencing_token: first.fencing_token,
      renewed: true,
      ttl_seconds: 600,
    });
    const after = (await stored(first.lease_id))?.expires_at as Date;
    expect(after.getTime()).toBeGreaterThan(before.getTime());
    expect(new Date(again.expires_at).getTime()).toBe(after.getTime());
    // A heartbeat does not flood the ledger.
    expect(await ledger(baton, 'renew', 'lease')).toHaveLength(1);
  });

  it('gives every new grant a larger fencing token than any before it in the project', async () => {
    const ana = await makeAgent(baton, 'fencing', 'ana');
    const bo = await makeAgent(baton, 'fencing', 'bo');
    const tokens: number[] = [];
    const grant = async (a: Agent, surface: string) => {
      const r = ok(await a.call('lease', { surface }));
      tokens.push(r.fencing_token);
      return r;
    };
    await grant(ana, 'one.ts');
    const two = await grant(bo, 'two.ts');
    await grant(ana, 'lane:docs');
    ok(await bo.call('release', { lease_id: two.lease_id }));
    await grant(bo, 'two.ts'); // the same surface again is a new grant
    await grant(ana, 'src/**');
    expect(tokens).toEqual([1, 2, 3, 4, 5]);
    // Another project counts on its own.
    const cy = await makeAgent(baton, 'fencing-other', 'cy');
    expect(ok(await cy.call('lease', { surface: 'one.ts' })).fencing_token).toBe(1);
  });

  it('refuses an overlapping lease with lease_held naming the holder and expiry', async () => {
    const ana = await makeAgent(baton, 'held', 'ana');
    const bo = await makeAgent(baton, 'held', 'bo');
    const held = ok(await ana.call('lease', { surface: 'src/db/**', ttl_seconds: 240 }));
    const e = err(await bo.call('lease', { surface: 'src/db/**' }));
    expect(e.code).toBe('lease_held');
    expect(e.message).toMatch(
      new RegExp(
        `^surface \`src/db/\\*\\*\` is held by \`${ana.actor}\` until \\d\\d:\\d\\d:\\d\\dZ \\(\\d+ s\\); wait, or post to them$`,
      ),
    );
    expect(e.holders).toEqual([
      {
        actor: ana.actor,
        surface: 'src/db/**',
        mode: 'exclusive',
        lease_id: held.lease_id,
        expires_at: held.expires_at,
        expires_in_seconds: expect.any(Number),
      },
    ]);
    expect(e.holders[0].expires_in_seconds).toBeGreaterThan(0);
    expect(e.holders[0].expires_in_seconds).toBeLessThanOrEqual(240);
    const overlapping = err(await bo.call('lease', { surface: 'src/db/pool.ts' }));
    expect(overlapping.message).toMatch(
      /surface `src\/db\/pool.ts` overlaps `src\/db\/\*\*`, held by/,
    );
    // Disjoint surfaces are free.
    ok(await bo.call('lease', { surface: 'src/http/server.ts' }));
    // Through the JSON API the refusal is a 409 with the same body.
    const api = await bo.api('lease', { surface: 'src/db/migrate.ts' });
    expect(api.status).toBe(409);
    expect(api.body.error).toMatchObject({ code: 'lease_held', holders: [{ actor: ana.actor }] });
  });

  it('lets shared leases coexist and refuses exclusive against shared and back', async () => {
    const ana = await makeAgent(baton, 'shared', 'ana');
    const bo = await makeAgent(baton, 'shared', 'bo');
    const cy = await makeAgent(baton, 'shared', 'cy');
    ok(await ana.call('lease', { surface: 'docs/', mode: 'shared' }));
    ok(await bo.call('lease', { surface: 'docs/**', mode: 'shared' }));
    const e = err(await cy.call('lease', { surface: 'docs/api.md' }));
    expect(e.code).toBe('lease_held');
    expect(e.message).toMatch(/and 1 more \(see holders\)/);
    expect(e.holders.map((h: { actor: string }) => h.actor).sort()).toEqual(
      [ana.actor, bo.actor].sort(),
    );
    ok(await cy.call('lease', { surface: 'README.md' }));
    expect(err(await ana.call('lease', { surface: '*.md', mode: 'shared' })).code).toBe(
      'lease_held',
    );
  });

  it('renewal keeps the mode unless one is given; upgrading needs no other holder', async () => {
    const ana = await makeAgent(baton, 'modes', 'ana');
    const bo = await makeAgent(baton, 'modes', 'bo');
    const s = ok(await ana.call('lease', { surface: 'lane:api', mode: 'shared' }));
    expect(ok(await ana.call('lease', { surface: 'lane:api' })).mode).toBe('shared');
    ok(await bo.call('lease', { surface: 'lane:api', mode: 'shared' }));
    expect(err(await ana.call('lease', { surface: 'lane:api', mode: 'exclusive' })).code).toBe(
      'lease_held',
    );
    ok(await bo.call('release', { surface: 'lane:api' }));
    const up = ok(await ana.call('lease', { surface: 'lane:api', mode: 'exclusive' }));
    expect(up).toMatchObject({
      lease_id: s.lease_id,
      fencing_token: s.fencing_token,
      mode: 'exclusive',
      renewed: true,
    });
    // A change of mode is news: it is in the ledger.
    const grants = (await ledger(baton, 'modes', 'lease')).filter((e) => e.actor === ana.actor);
    expect(grants.map((g) => [g.data.mode, g.data.renewed])).toEqual([
      ['shared', false],
      ['exclusive', true],
    ]);
  });

  it('treats lanes as names: a lane overlaps only itself', async () => {
    const ana = await makeAgent(baton, 'lanes', 'ana');
    const bo = await makeAgent(baton, 'lanes', 'bo');
    ok(await ana.call('lease', { surface: 'lane:feeds-refactor' }));
    expect(err(await bo.call('lease', { surface: 'lane:feeds-refactor' })).code).toBe('lease_held');
    ok(await bo.call('lease', { surface: 'lane:feeds' }));
    ok(await bo.call('lease', { surface: '**' }));
  });

  it('takes over an expired lease and records lease_expired for the previous holder', async () => {
    const ana = await makeAgent(baton, 'expiry', 'ana');
    const bo = await makeAgent(baton, 'expiry', 'bo');
    const old = ok(await ana.call('lease', { surface: 'src/**' }));
    await expireIn(old.lease_id, -1);
    // Expired leases never block, and are not shown as held.
    expect(ok(await bo.call('who_holds', {})).leases).toEqual([]);
    const taken = ok(await bo.call('lease', { surface: 'src/db/pool.ts' }));
    expect(taken).toMatchObject({
      renewed: false,
      taken_over: [{ lease_id: old.lease_id, surface: 'src/**', actor: ana.actor }],
    });
    expect(taken.fencing_token).toBeGreaterThan(old.fencing_token);
    const events = await ledger(baton, 'expiry');
    const expired = events.filter((e) => e.type === 'lease_expired');
    expect(expired).toEqual([
      expect.objectContaining({
        actor: ana.actor,
        lease_id: String(old.lease_id),
        data: expect.objectContaining({
          surface: 'src/**',
          fencing_token: old.fencing_token,
          taken_over_by: bo.actor,
          by_lease_id: taken.lease_id,
        }),
      }),
    ]);
    // The take-over is recorded before the grant that caused it.
    expect(events.map((e) => e.type).slice(-2)).toEqual(['lease_expired', 'lease']);
    // Ana's old lease is gone: releasing it now succeeds, saying nothing was released.
    expect(ok(await ana.call('release', { lease_id: old.lease_id }))).toMatchObject({
      released: false,
      leases: [],
    });
    // And a heartbeat on it learns it was lost, instead of being handed a new lease.
    const beat = err(await ana.call('lease', { lease_id: old.lease_id }));
    expect(beat.code).toBe('not_found');
    expect(beat.message).toMatch(/no longer exists/);
  });

  it('re-leasing my own expired lease is a new grant with a new fencing token', async () => {
    const ana = await makeAgent(baton, 'own-expiry', 'ana');
    const old = ok(await ana.call('lease', { surface: 'a.ts' }));
    await expireIn(old.lease_id, -1);
    const fresh = ok(await ana.call('lease', { surface: 'a.ts' }));
    expect(fresh.renewed).toBe(false);
    expect(fresh.lease_id).not.toBe(old.lease_id);
    expect(fresh.fencing_token).toBeGreaterThan(old.fencing_token);
  });

  it('refuses malformed surfaces with invalid_argument saying what to fix', async () => {
    const ana = await makeAgent(baton, 'surface-input', 'ana');
    const cases: [unknown, RegExp][] = [
      ['../etc/passwd', /surface: `..\/etc\/passwd`: "\." and "\.\." segments are not allowed/],
      ['/abs/path', /without a leading "\/"/],
      ['src//a.ts', /empty segment/],
      ['src\\a.ts', /"\\" is not allowed/],
      ['a\u0000b', /control character/],
      ['src/[a.ts', /no closing "\]"/],
      ['lane:Bad Lane', /a lane surface is "lane:" and 1–64/],
      ['', /a surface is 1–512 characters/],
      ['x'.repeat(513), /surface: a surface is 1–512 characters/],
      [42, /surface: expected string/],
    ];
    for (const [surface, message] of cases) {
      const e = err(await ana.call('lease', { surface }));
      expect([surface, e.code]).toEqual([surface, 'invalid_argument']);
      expect(e.message).toMatch(message);
    }
    expect(err(await ana.call('lease', { surface: 'a', mode: 'solo' })).message).toMatch(/mode/);
    expect(await ledger(baton, 'surface-input', 'lease')).toEqual([]);
  });
});

describe('release', () => {
  it('releases my lease by surface or by lease_id, and records it', async () => {
    const ana = await makeAgent(baton, 'release', 'ana');
    const bo = await makeAgent(baton, 'release', 'bo');
    const a = ok(await ana.call('lease', { surface: 'src/a.ts' }));
    const b = ok(await ana.call('lease', { surface: 'src/b.ts' }));
    expect(ok(await ana.call('release', { surface: 'src/a.ts' }))).toEqual({
      released: true,
      leases: [
        {
          lease_id: a.lease_id,
          surface: 'src/a.ts',
          mode: 'exclusive',
          holder: ana.actor,
          forced: false,
        },
      ],
    });
    const api = await ana.api('release', { lease_id: b.lease_id });
    expect(api.status).toBe(200);
    expect(api.body.leases[0].lease_id).toBe(b.lease_id);
    // Released surfaces are free for others at once.
    ok(await bo.call('lease', { surface: 'src/*.ts' }));
    const releases = await ledger(baton, 'release', 'release');
    expect(releases.map((e) => [e.actor, e.lease_id, e.data.forced])).toEqual([
      [ana.actor, String(a.lease_id), false],
      [ana.actor, String(b.lease_id), false],
    ]);
  });

  it('says clearly when there is nothing of mine to release, and succeeds (a retry is no error)', async () => {
    const ana = await makeAgent(baton, 'release-none', 'ana');
    ok(await ana.call('lease', { surface: 'kept.ts' }));
    const none = ok(await ana.call('release', { surface: 'other.ts' }));
    expect(none).toMatchObject({ released: false, leases: [] });
    expect(none.note).toMatch(/`other.ts`: you hold no such lease; yours: `kept.ts` \(#\d+\)/);
    expect(ok(await ana.call('release', { lease_id: 999_999 })).released).toBe(false);
    // Released twice: the second answers released: false, and the ledger has one release.
    const twice = ok(await ana.call('lease', { surface: 'twice.ts' }));
    expect(ok(await ana.call('release', { lease_id: twice.lease_id })).released).toBe(true);
    expect(ok(await ana.call('release', { lease_id: twice.lease_id })).released).toBe(false);
    const releases = await ledger(baton, 'release-none', 'release');
    expect(releases.filter((e) => e.lease_id === String(twice.lease_id))).toHaveLength(1);
    const both = err(await ana.call('release', { surface: 'kept.ts', lease_id: 1 }));
    expect(both.message).toMatch(/either surface or lease_id/);
    expect(err(await ana.call('release', {})).code).toBe('invalid_argument');
    expect(err(await ana.call('release', { surface: '../x' })).message).toMatch(/surface: /);
  });

  it("refuses to release another's live lease, even for an admin, unless an admin forces it", async () => {
    const ana = await makeAgent(baton, 'force', 'ana');
    const bo = await makeAgent(baton, 'force', 'bo');
    const lead = await makeAgent(baton, 'force', 'lead', { admin: true });
    const held = ok(await ana.call('lease', { surface: 'src/db/' }));
    for (const [who, args] of [
      [bo, { lease_id: held.lease_id }],
      [bo, { surface: 'src/db/' }],
      [lead, { lease_id: held.lease_id }],
      [bo, { lease_id: held.lease_id, force: true }],
    ] as [Agent, Record<string, unknown>][]) {
      const e = err(await who.call('release', args));
      expect([who.actor, args, e.code]).toEqual([who.actor, args, 'forbidden']);
    }
    expect(err(await bo.call('release', { surface: 'src/db/' })).message).toMatch(
      new RegExp(`is held by \`${ana.actor}\` until .* not by you; ask them to release it`),
    );
    expect(err(await bo.call('release', { lease_id: held.lease_id, force: true })).message).toMatch(
      /only a project admin can force a release/,
    );
    const api = await bo.api('release', { lease_id: held.lease_id });
    expect(api.status).toBe(403);

    const forced = ok(await lead.call('release', { lease_id: held.lease_id, force: true }));
    expect(forced.leases).toEqual([
      expect.objectContaining({ lease_id: held.lease_id, holder: ana.actor, forced: true }),
    ]);
    const [event] = await ledger(baton, 'force', 'release');
    expect(event).toMatchObject({
      actor: lead.actor,
      lease_id: String(held.lease_id),
      data: { holder: ana.actor, forced: true, surface: 'src/db/' },
    });
    ok(await bo.call('lease', { surface: 'src/db/pool.ts' }));
  });

  it('an expired lease of another blocks nobody and is not mine to release', async () => {
    const ana = await makeAgent(baton, 'release-expired', 'ana');
    const bo = await makeAgent(baton, 'release-expired', 'bo');
    const old = ok(await ana.call('lease', { surface: 'x.ts' }));
    await expireIn(old.lease_id, -1);
    const e = ok(await bo.call('release', { lease_id: old.lease_id }));
    expect(e.released).toBe(false);
    expect(e.note).toMatch(/expired at .*; it blocks nobody/);
    // Its holder may still tidy it away.
    ok(await ana.call('release', { lease_id: old.lease_id }));
  });
});

describe('who_holds and check_paths', () => {
  async function scene(project: string) {
    const ana = await makeAgent(baton, project, 'ana');
    const bo = await makeAgent(baton, project, 'bo');
    const cy = await makeAgent(baton, project, 'cy');
    ok(await ana.call('lease', { surface: 'src/db/**' }));
    ok(await ana.call('lease', { surface: 'lane:docs' }));
    ok(await bo.call('lease', { surface: 'src/http/server.ts', mode: 'shared' }));
    ok(await bo.call('lease', { surface: 'app/[id]/' }));
    const gone = ok(await bo.call('lease', { surface: 'README.md' }));
    await expireIn(gone.lease_id, -1);
    return { ana, bo, cy };
  }

  it('who_holds lists live leases, those overlapping a surface, or one actor’s', async () => {
    const { ana, bo, cy } = await scene('holds');
    const all = ok(await cy.call('who_holds', {})).leases as { surface: string; actor: string }[];
    expect(all.map((l) => `${l.actor} ${l.surface}`)).toEqual([
      `${bo.actor} app/[id]/`,
      `${ana.actor} lane:docs`,
      `${ana.actor} src/db/**`,
      `${bo.actor} src/http/server.ts`,
    ]);
    expect(all[0]).toEqual({
      lease_id: expect.any(Number),
      surface: 'app/[id]/',
      mode: 'exclusive',
      actor: bo.actor,
      fencing_token: expect.any(Number),
      expires_at: expect.any(String),
      expires_in_seconds: expect.any(Number),
      note: null,
    });
    const src = ok(await cy.call('who_holds', { surface: 'src/**' })).leases;
    expect(src.map((l: { surface: string }) => l.surface)).toEqual([
      'src/db/**',
      'src/http/server.ts',
    ]);
    const docs = ok(await cy.call('who_holds', { surface: 'lane:docs' })).leases;
    expect(docs.map((l: { surface: string }) => l.surface)).toEqual(['lane:docs']);
    const bos = ok(await cy.call('who_holds', { actor: bo.actor })).leases;
    expect(bos).toHaveLength(2);
    expect(ok(await cy.call('who_holds', { surface: 'README.md' })).leases).toEqual([]);
    const api = await cy.api('who_holds', { surface: 'src/db/pool.ts' });
    expect(api.status).toBe(200);
    expect(api.body.leases.map((l: { surface: string }) => l.surface)).toEqual(['src/db/**']);
  });

  it("check_paths returns, for each path, others' live leases covering it", async () => {
    const { ana, bo, cy } = await scene('paths');
    const paths = [
      'src/db/pool.ts',
      'src/http/server.ts',
      'src/http/auth.ts',
      'README.md',
      'app/[id]/page.tsx',
      'lane:docs',
    ];
    const r = ok(await cy.call('check_paths', { paths }));
    const summary = (r.paths as { path: string; leases: { actor: string; mode: string }[] }[]).map(
      (p) => [p.path, p.leases.map((l) => `${l.actor} ${l.mode}`)],
    );
    expect(summary).toEqual([
      ['src/db/pool.ts', [`${ana.actor} exclusive`]],
      ['src/http/server.ts', [`${bo.actor} shared`]],
      ['src/http/auth.ts', []],
      ['README.md', []], // expired
      ['app/[id]/page.tsx', [`${bo.actor} exclusive`]], // the brackets are a real directory name
      ['lane:docs', [`${ana.actor} exclusive`]],
    ]);
    expect(r.paths[0].leases[0]).toEqual({
      lease_id: expect.any(Number),
      surface: 'src/db/**',
      mode: 'exclusive',
      actor: ana.actor,
      expires_at: expect.any(String),
    });
    // My own leases are not in my way.
    const mine = ok(await ana.call('check_paths', { paths: ['src/db/pool.ts'] }));
    expect(mine.paths[0].leases).toEqual([]);
    const api = await cy.api('check_paths', { paths: ['src/db/migrate.ts'] });
    expect(api.status).toBe(200);
    expect(api.body.paths[0].leases[0].actor).toBe(ana.actor);
  });

  it('check_paths refuses globs, bad paths and oversized lists', async () => {
    const ana = await makeAgent(baton, 'paths-input', 'ana');
    const glob = err(await ana.call('check_paths', { paths: ['src/a.ts', 'src/*.ts'] }));
    expect(glob.message).toMatch(/paths\.1: `src\/\*\.ts` is a glob; pass concrete paths/);
    expect(err(await ana.call('check_paths', { paths: ['../x'] })).message).toMatch(/paths\.0/);
    expect(err(await ana.call('check_paths', { paths: [] })).code).toBe('invalid_argument');
    const many = Array.from({ length: 1001 }, (_, i) => `f${i}.ts`);
    expect(err(await ana.call('check_paths', { paths: many })).message).toMatch(/paths: /);
    const thousand = ok(await ana.call('check_paths', { paths: many.slice(0, 1000) }));
    expect(thousand.paths).toHaveLength(1000);
  });

  it("never shows another project's leases", async () => {
    const ana = await makeAgent(baton, 'tenant-x', 'ana');
    const cy = await makeAgent(baton, 'tenant-y', 'cy');
    ok(await ana.call('lease', { surface: 'src/**' }));
    expect(ok(await cy.call('who_holds', {})).leases).toEqual([]);
    expect(ok(await cy.call('check_paths', { paths: ['src/a.ts'] })).paths[0].leases).toEqual([]);
    ok(await cy.call('lease', { surface: 'src/a.ts' }));
    const id = await projectId(baton, 'tenant-x');
    expect(id).toBeTruthy();
  });
});

describe('heartbeats', () => {
  it('a renewal without ttl_seconds keeps the TTL the lease has; with one, takes it', async () => {
    const ana = await makeAgent(baton, 'beat-ttl', 'ana');
    const short = ok(await ana.call('lease', { surface: 'short.ts', ttl_seconds: 5 }));
    expect(short.ttl_seconds).toBe(5);
    const beat = ok(await ana.call('lease', { surface: 'short.ts' }));
    expect(beat).toMatchObject({
      renewed: true,
      lease_id: short.lease_id,
      fencing_token: short.fencing_token,
      ttl_seconds: 5,
    });
    const { rows } = await sql<{ ttl_seconds: number; left: number }>`
      select ttl_seconds, extract(epoch from expires_at - now())::float8 as left
      from leases where id = ${short.lease_id}`.execute(baton.storage.db);
    expect(rows[0]?.ttl_seconds).toBe(5);
    expect(rows[0]?.left).toBeLessThanOrEqual(5);
    const longer = ok(await ana.call('lease', { lease_id: short.lease_id, ttl_seconds: 60 }));
    expect(longer).toMatchObject({ renewed: true, lease_id: short.lease_id, ttl_seconds: 60 });
    // And the new TTL is the one later heartbeats keep.
    expect(ok(await ana.call('lease', { lease_id: short.lease_id })).ttl_seconds).toBe(60);
    // A new lease with no TTL gets the default.
    expect(ok(await ana.call('lease', { surface: 'fresh.ts' })).ttl_seconds).toBe(900);
  });

  it('lease(lease_id) renews exactly that lease, or refuses: never a new grant', async () => {
    const ana = await makeAgent(baton, 'beat-id', 'ana');
    const bo = await makeAgent(baton, 'beat-id', 'bo');
    const mine = ok(await ana.call('lease', { surface: 'src/feed.ts', ttl_seconds: 30 }));
    const again = ok(await ana.call('lease', { lease_id: mine.lease_id }));
    expect(again).toMatchObject({
      renewed: true,
      lease_id: mine.lease_id,
      fencing_token: mine.fencing_token,
      surface: 'src/feed.ts',
    });
    // Someone else's live lease: held, not renewed for me.
    const his = ok(await bo.call('lease', { surface: 'src/other.ts' }));
    const held = err(await ana.call('lease', { lease_id: his.lease_id }));
    expect(held.code).toBe('lease_held');
    // Mine expired (nobody took it yet): not renewed in place, told to lease again.
    await expireIn(mine.lease_id, -1);
    const expired = err(await ana.call('lease', { lease_id: mine.lease_id }));
    expect(expired.code).toBe('not_found');
    expect(expired.message).toMatch(/expired at .* lease `src\/feed.ts` again/);
    // Taken over and released by another: the heartbeat learns it lost the lease.
    ok(await bo.call('lease', { surface: 'src/feed.ts' }));
    ok(await bo.call('release', { surface: 'src/feed.ts' }));
    const lost = err(await ana.call('lease', { lease_id: mine.lease_id }));
    expect(lost.code).toBe('not_found');
    const live = ok(await ana.call('who_holds', { actor: ana.actor }));
    expect(live.leases).toEqual([]);
    // Exactly one of surface and lease_id.
    expect(err(await ana.call('lease', {})).code).toBe('invalid_argument');
    expect(err(await ana.call('lease', { surface: 'a.ts', lease_id: mine.lease_id })).code).toBe(
      'invalid_argument',
    );
  });

  it('warns when a plain path is the name of a lane, and says how to lease the lane', async () => {
    const ana = await makeAgent(baton, 'beat-lane', 'ana');
    ok(await ana.call('register', { lane: 'feeds-refactor' }));
    const path = ok(await ana.call('lease', { surface: 'feeds-refactor' }));
    expect(path.warning).toMatch(/lease lane:feeds-refactor/);
    const lane = ok(await ana.call('lease', { surface: 'lane:feeds-refactor' }));
    expect(lane.warning).toBeUndefined();
    expect(ok(await ana.call('lease', { surface: 'unrelated-name' })).warning).toBeUndefined();
  });
});
