import fs from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import * as limits from '../src/leases/limits.js';
import {
  MAX_CHECK_PATHS,
  MAX_COMPARISON_WORK,
  MAX_EXPIRED_WEIGHED,
  MAX_LEASES_PER_ANSWER,
  MAX_LEASES_PER_PARTICIPATION,
  MAX_LEASES_PER_PATH,
  MAX_LEASES_PER_PROJECT,
  REQUEST_WORK,
} from '../src/leases/limits.js';
import { clearSurfaceCache } from '../src/leases/surface.js';
import { resetWorkStats, workStats } from '../src/leases/work.js';
import { useTestBaton } from './helpers/baton.js';
import { err, makeAgent, ok } from './helpers/agents.js';
import { makeLeases } from './helpers/factories.js';

// The limits on leases and lease matching, end to end: caps refused with `invalid_argument`
// naming the limit, listings cut with a count of the rest, matching bounded by the work counter
// (answers assume overlap past it), and surfaces compiled once.

const baton = useTestBaton();

beforeEach(() => {
  clearSurfaceCache();
  resetWorkStats();
});

describe('caps on leases', () => {
  it('refuses a glob past the wildcard or ** cap with invalid_argument naming the limit', async () => {
    const ana = await makeAgent(baton, 'glob-caps', 'ana');
    const wild = err(await ana.call('lease', { surface: '*a'.repeat(33) }));
    expect(wild.code).toBe('invalid_argument');
    expect(wild.message).toMatch(/at most 32 wildcards .*this one has 33/);
    const stars = err(await ana.call('who_holds', { surface: `a/${'**/b/'.repeat(9)}x` }));
    expect(stars.message).toMatch(/at most 8 `\*\*` segments/);
    const paths = err(await ana.call('check_paths', { paths: Array(1001).fill('a.ts') }));
    expect(paths.message).toMatch(/at most 1000 paths per call/);
    expect(MAX_CHECK_PATHS).toBe(1000);
    // A lease granted before the limits can still be released by its surface.
    await makeLeases(baton.storage.db, ana, ['*a'.repeat(33)]);
    expect(ok(await ana.call('release', { surface: '*a'.repeat(33) })).leases).toHaveLength(1);
    // A run of ** counts once: the 512-character chain of the flood is an ordinary glob.
    ok(await ana.call('lease', { surface: `${'**/'.repeat(169)}x12`, mode: 'shared' }));
  });

  it('caps live leases per participation; renewing a held one still works', async () => {
    const ana = await makeAgent(baton, 'cap-mine', 'ana');
    const bo = await makeAgent(baton, 'cap-mine', 'bo');
    const held = ok(await ana.call('lease', { surface: 'held.ts' }));
    await makeLeases(
      baton.storage.db,
      ana,
      Array.from({ length: MAX_LEASES_PER_PARTICIPATION - 1 }, (_, i) => `f/${i}.ts`),
    );
    const e = err(await ana.call('lease', { surface: 'one-more.ts' }));
    expect(e.code).toBe('invalid_argument');
    expect(e.message).toMatch(
      /you hold 500 live leases, the most one participant may hold \(500\)/,
    );
    expect(e.limit).toBe(MAX_LEASES_PER_PARTICIPATION);
    expect(ok(await ana.call('lease', { surface: 'held.ts' }))).toMatchObject({
      lease_id: held.lease_id,
      renewed: true,
    });
    // Others in the project are not held back by it.
    ok(await bo.call('lease', { surface: 'one-more.ts' }));
    // Released, there is room again.
    ok(await ana.call('release', { surface: 'held.ts' }));
    ok(await ana.call('lease', { surface: 'now-fits.ts' }));
  });

  it('caps live leases per project', async () => {
    const ana = await makeAgent(baton, 'cap-project', 'ana');
    const bo = await makeAgent(baton, 'cap-project', 'bo');
    await makeLeases(
      baton.storage.db,
      ana,
      Array.from({ length: MAX_LEASES_PER_PROJECT }, (_, i) => `p/${i}.ts`),
    );
    const e = err(await bo.call('lease', { surface: 'lane:extra' }));
    expect(e.code).toBe('invalid_argument');
    expect(e.message).toMatch(
      /this project has 5000 live leases, the most a project may hold \(5000\)/,
    );
    // Another project is unaffected.
    const cy = await makeAgent(baton, 'cap-project-2', 'cy');
    ok(await cy.call('lease', { surface: 'lane:extra' }));
  });

  it('takes over at most the most recent expired leases in one grant', async () => {
    const ana = await makeAgent(baton, 'expired-many', 'ana');
    const bo = await makeAgent(baton, 'expired-many', 'bo');
    await makeLeases(
      baton.storage.db,
      ana,
      Array.from({ length: MAX_EXPIRED_WEIGHED + 50 }, (_, i) => `old/${i}.ts`),
      { ttl: -60, mode: 'exclusive' },
    );
    const r = ok(await bo.call('lease', { surface: 'old/' }));
    expect(r.taken_over).toHaveLength(MAX_EXPIRED_WEIGHED);
    const again = ok(await bo.call('lease', { surface: 'old/**' }));
    expect(again.taken_over).toHaveLength(50);
  });
});

describe('check_paths listings', () => {
  // Twelve leases of bo's cover every src/f<i>.ts; two of them are exclusive and sort late.
  const COVERING = [
    '**',
    '**/*.ts',
    '**/f*',
    '*/*',
    's*/**',
    'src/',
    'src/*',
    'src/**',
    'src/*.ts',
    'src/[f]*',
    'src/f*',
    'src/f*.ts',
  ];

  it('lists at most 10 leases a path, exclusive ones first, and counts the rest', async () => {
    const ana = await makeAgent(baton, 'listing', 'ana');
    const bo = await makeAgent(baton, 'listing', 'bo');
    for (const surface of COVERING) {
      const exclusive = surface === 'src/f*.ts' || surface === 'src/[f]*';
      ok(await bo.call('lease', { surface, mode: exclusive ? 'exclusive' : 'shared' }));
    }
    const r = ok(await ana.call('check_paths', { paths: ['src/f1.ts', 'lib/x.js'] }));
    const [first, second] = r.paths;
    expect(first.leases).toHaveLength(MAX_LEASES_PER_PATH);
    expect(first.more).toBe(COVERING.length - MAX_LEASES_PER_PATH);
    const surfaces = (leases: { surface: string }[]) => leases.map((l) => l.surface).sort();
    expect(surfaces(first.leases.slice(0, 2))).toEqual(['src/[f]*', 'src/f*.ts']);
    expect(first.leases.slice(0, 2).every((l: { mode: string }) => l.mode === 'exclusive')).toBe(
      true,
    );
    expect(second.path).toBe('lib/x.js');
    expect(surfaces(second.leases)).toEqual(['**', '*/*']);
    expect(second.more).toBeUndefined();
    expect(r.overlap_assumed).toBeUndefined();
  });

  it('lists 1,000 leases in all, then one a covered path', async () => {
    const ana = await makeAgent(baton, 'listing-all', 'ana');
    const bo = await makeAgent(baton, 'listing-all', 'bo');
    await makeLeases(baton.storage.db, bo, COVERING, { mode: 'exclusive' });
    const paths = Array.from({ length: 150 }, (_, i) => `src/f${i}.ts`);
    const r = ok(await ana.call('check_paths', { paths }));
    const listed = r.paths.map((p: { leases: unknown[] }) => p.leases.length);
    expect(listed.slice(0, 100)).toEqual(Array(100).fill(MAX_LEASES_PER_PATH));
    expect(listed.slice(100)).toEqual(Array(50).fill(1));
    expect(listed.reduce((a: number, b: number) => a + b, 0)).toBe(MAX_LEASES_PER_ANSWER + 50);
    expect(r.paths[149].more).toBe(COVERING.length - 1);
  });
});

describe('matching work', () => {
  // Globs whose subset automaton explodes on an irregular run of a and b, each within the caps;
  // none matches the path (the 32 characters before its final x are all b).
  const hostile = (k: number) => `*a${'?'.repeat(k)}x`;
  let seed = 7;
  const coin = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >> 16) & 1;
  const path = `${Array.from({ length: 468 }, () => (coin() ? 'a' : 'b')).join('')}${'b'.repeat(32)}x`;

  it('cuts one costly comparison short, assuming overlap for that lease only', async () => {
    const ana = await makeAgent(baton, 'comparison', 'ana');
    const bo = await makeAgent(baton, 'comparison', 'bo');
    const costly = `*a${'[!c]'.repeat(30)}x`; // a little costlier than hostile(30) to step
    await makeLeases(baton.storage.db, bo, ['*a?x', costly, 'src/**'], { mode: 'exclusive' });
    resetWorkStats();
    const held = ok(await ana.call('who_holds', { surface: path }));
    expect(held.leases.map((l: { surface: string }) => l.surface)).toEqual([costly]);
    expect(held.overlap_assumed).toBe(true);
    expect(workStats).toMatchObject({ assumed: 1, exhausted: 0 });
    expect(workStats.maxRequest).toBeGreaterThan(MAX_COMPARISON_WORK);
    expect(workStats.maxRequest).toBeLessThan(2 * MAX_COMPARISON_WORK);
    // Decided comparisons are exact: the same question about a path it cannot cover is not held.
    const free = ok(await ana.call('who_holds', { surface: 'src2/a.ts' }));
    expect(free).toEqual({ leases: [], has_more: false });
  });

  it('stops at the request budget and answers conservatively, within the listing caps', async () => {
    const ana = await makeAgent(baton, 'budget', 'ana');
    const bo = await makeAgent(baton, 'budget', 'bo');
    const surfaces = Array.from({ length: 30 }, (_, k) => [hostile(k + 1), `*${hostile(k + 1)}`]);
    await makeLeases(baton.storage.db, bo, surfaces.flat(), { mode: 'exclusive' });
    resetWorkStats();
    const held = ok(await ana.call('who_holds', { surface: path }));
    expect(held.overlap_assumed).toBe(true);
    expect(workStats.exhausted).toBe(1);
    expect(workStats.maxRequest).toBe(REQUEST_WORK + 1);
    // Those not decided before the budget ran out are listed: assumed to overlap.
    expect(held.leases.length).toBeGreaterThan(0);
    expect(held.leases.length).toBeLessThan(60);
    const refused = err(await ana.call('lease', { surface: path }));
    expect(refused.code).toBe('lease_held');
    expect(refused.message).toMatch(/work limit, so overlap was assumed/);
    expect(refused.overlap_assumed).toBe(true);
    const checked = ok(await ana.call('check_paths', { paths: [path, 'lane:docs'] }));
    expect(checked.overlap_assumed).toBe(true);
    // An assumed answer lists one lease and counts the rest: it never grows the answer.
    expect(checked.paths[0].leases).toHaveLength(1);
    expect(checked.paths[0].more).toBe(59);
    expect(checked.paths[1]).toEqual({ path: 'lane:docs', leases: [] }); // lanes need no matching
    expect(workStats.exhausted).toBe(3);
    expect(workStats.maxRequest).toBe(REQUEST_WORK + 1);
  });

  it('serves other requests between the slices of a long match', async () => {
    const ana = await makeAgent(baton, 'slices', 'ana');
    const bo = await makeAgent(baton, 'slices', 'bo');
    const cy = await makeAgent(baton, 'slices-other', 'cy');
    const surfaces = Array.from({ length: 30 }, (_, k) => [hostile(k + 1), `*${hostile(k + 1)}`]);
    await makeLeases(baton.storage.db, bo, surfaces.flat(), { mode: 'exclusive' });
    resetWorkStats();
    let matched = false;
    const long = ana.call('who_holds', { surface: path }).then(() => (matched = true));
    // Once the match has begun (the loop turns during it), another tenant asks who it is.
    while (workStats.total === 0) await new Promise((r) => setImmediate(r));
    ok(await cy.call('whoami'));
    expect(matched).toBe(false);
    await long;
    expect(workStats.exhausted).toBe(1);
  });

  it('parses and compiles a stored surface once, not on every request', async () => {
    const ana = await makeAgent(baton, 'cache', 'ana');
    const bo = await makeAgent(baton, 'cache', 'bo');
    await makeLeases(
      baton.storage.db,
      bo,
      Array.from({ length: 100 }, (_, i) => `src/**/${'x'.repeat(400)}*[a-z]?${i}`),
    );
    const ask = async () => {
      resetWorkStats();
      ok(await ana.call('who_holds', { surface: `src/**/${'x'.repeat(400)}*q` }));
      return workStats.maxRequest;
    };
    const cold = await ask();
    const warm = await ask();
    expect(warm).toBeLessThan(cold / 4);
  });
});

describe('SELFHOSTING.md', () => {
  it('lists every lease limit with its value', () => {
    const doc = fs.readFileSync(new URL('../SELFHOSTING.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('### Leases and lease matching'));
    const shown = (n: number) =>
      n % 2 ** 20 === 0 ? `${n / 2 ** 20} MiB` : n.toLocaleString('en');
    for (const [name, value] of Object.entries(limits)) {
      expect([name, section.includes(shown(value))]).toEqual([name, true]);
    }
  });
});
