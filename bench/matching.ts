import { coverPaths } from '../src/leases/coverage.js';
import {
  MAX_COMPARISON_WORK,
  MAX_GLOB_WILDCARDS,
  REQUEST_WORK,
  WORK_SLICE,
} from '../src/leases/limits.js';
import { overlaps, parsePath, parseSurface, type Surface } from '../src/leases/overlap.js';
import { automatonOf, clearSurfaceCache, storedSurface } from '../src/leases/surface.js';
import { Budget } from '../src/leases/work.js';
import type { LeaseRow } from '../src/db/leases.js';
import { now } from './lib.js';

// What a unit of the matching work counter costs on this machine: costly workloads within the
// caps, run through the same code a request runs, timed against the units they were charged.
// The costliest nanoseconds a unit, times the request's budget, is the most CPU one request's
// matching can take. `npx tsx bench/matching.ts` prints the table; the bench's globs figure
// reports the costliest.

let seed = 5;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const word = (n: number, alphabet = 'abcdefghij') =>
  Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
const ab = (n: number) => word(n, 'ab');

const row = (surface: string, i: number): LeaseRow => ({
  id: String(i),
  participation_id: '1',
  actor: 'bench/holder',
  surface,
  mode: 'exclusive',
  fencing_token: String(i),
  note: null,
  expires_at: new Date(),
  ttl_seconds: 60,
  live: true,
  expires_in: 60,
});

const stored = (texts: string[], budget: Budget) =>
  texts.map((t) => storedSurface(t, budget)).filter((s): s is Surface => s !== undefined);

/** Each workload: set-up outside the clock, then a run that spends a fresh unlimited budget. */
const WORKLOADS: Record<string, () => (budget: Budget) => Promise<unknown> | unknown> = {
  'parse and compile 200 globs at the caps': () => {
    const texts = Array.from(
      { length: 200 },
      (_, i) => `src/**/${word(240)}*${word(240)}?[a-z]${i}`,
    );
    return (b) => {
      clearSurfaceCache();
      for (const s of stored(texts, b)) if (s.pattern) automatonOf(s as never, b);
    };
  },
  'glob against 200 globs of 32 wildcards': () => {
    const texts = Array.from(
      { length: 200 },
      () => `${`*${word(14)}`.repeat(MAX_GLOB_WILDCARDS - 1).slice(0, 500)}*`,
    );
    const q = parseSurface(`${`*${word(14)}`.repeat(MAX_GLOB_WILDCARDS - 1).slice(0, 500)}*`);
    return (b) => stored(texts, b).forEach((s) => overlaps(s, q, b));
  },
  'glob against 200 globs with ** segments': () => {
    const texts = Array.from(
      { length: 200 },
      () => `**/${word(3)}/**/${`*${word(14)}`.repeat(20).slice(0, 400)}*/`,
    );
    const q = parseSurface(`**/a/**/b/**/c/**/${`*${word(14)}`.repeat(20).slice(0, 400)}*`);
    return (b) => stored(texts, b).forEach((s) => overlaps(s, q, b));
  },
  'exploding subset automata against paths': () => {
    const texts = Array.from({ length: 40 }, (_, k) => `*a${'?'.repeat(29)}${'b'.repeat(k)}x`);
    const paths = Array.from({ length: 20 }, () => parsePath(`${ab(480)}x`));
    return (b) => {
      const held = stored(texts, b);
      for (const p of paths) for (const s of held) overlaps(s, p, b);
    };
  },
  'character classes of many ranges': () => {
    const cls = (k: number) =>
      `[${Array.from({ length: 40 }, (_, i) => String.fromCharCode(0x4e00 + (i + k) * 3, 0x2d, 0x4e01 + (i + k) * 3)).join('')}]`;
    const texts = Array.from({ length: 100 }, (_, i) => `${`*${cls(i)}`.repeat(4)}*`);
    const q = parseSurface(`${`*${cls(500).replace('[', '[!')}`.repeat(4)}*`);
    const paths = Array.from({ length: 20 }, (_, i) => parsePath(`${'丁'.repeat(200)}${i}`));
    return (b) => {
      const held = stored(texts, b);
      for (const s of held) overlaps(s, q, b);
      for (const p of paths) for (const s of held) overlaps(s, p, b);
    };
  },
  'characters beyond the BMP': () => {
    const texts = Array.from(
      { length: 100 },
      (_, i) => `**/${'😀*'.repeat(30)}${'😀'.repeat(100)}${i}`,
    );
    const paths = Array.from({ length: 20 }, (_, i) => parsePath(`${'😀'.repeat(250)}${i}`));
    return (b) => {
      const held = stored(texts, b);
      for (const p of paths) for (const s of held) overlaps(s, p, b);
    };
  },
  'check_paths: 1,000 deep paths, 5,000 leases': () => {
    const surfaces = [
      ...Array.from({ length: 4000 }, (_, i) => `src/${word(200)}/${i}.ts`),
      ...Array.from({ length: 500 }, (_, i) => `src/${word(3)}/${i}/`),
      ...Array.from({ length: 500 }, (_, i) => `${word(2)}/**/*.${word(3)}${i}`),
    ];
    const rows = surfaces.map(row);
    const paths = Array.from({ length: 1000 }, (_, i) =>
      parsePath(`src/${word(3)}/${'d/'.repeat(200)}${i}.ts`),
    );
    return (b) => coverPaths(paths, rows, b);
  },
};

export interface Calibration {
  workload: string;
  units: number;
  ms: number;
  nsPerUnit: number;
}

/** Each workload timed a few times (the fastest run, the least disturbed by the machine). */
export async function calibrate(reps = 5): Promise<Calibration[]> {
  const out: Calibration[] = [];
  for (const [workload, setUp] of Object.entries(WORKLOADS)) {
    const run = setUp();
    let best: Calibration | undefined;
    for (let i = 0; i <= reps; i++) {
      const budget = new Budget(Number.POSITIVE_INFINITY);
      const t = now();
      await run(budget);
      const ms = now() - t;
      const c = { workload, units: budget.spent, ms, nsPerUnit: (ms * 1e6) / budget.spent };
      // The first run warms the code up and is not counted.
      if (i > 0 && (!best || c.nsPerUnit < best.nsPerUnit)) best = c;
    }
    out.push(best as Calibration);
  }
  clearSurfaceCache();
  return out;
}

/** The bounds in milliseconds at the costliest rate measured. */
export function bounds(rows: Calibration[]) {
  const worst = Math.max(...rows.map((r) => r.nsPerUnit));
  const ms = (units: number) => (units * worst) / 1e6;
  return {
    worstNsPerUnit: worst,
    requestMs: ms(REQUEST_WORK),
    comparisonMs: ms(MAX_COMPARISON_WORK),
    sliceMs: ms(WORK_SLICE + MAX_COMPARISON_WORK),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await calibrate(Number(process.argv[2] ?? 5));
  for (const r of rows) {
    process.stdout.write(
      `${r.workload.padEnd(46)} ${String(r.units).padStart(10)} units ${r.ms.toFixed(2).padStart(8)} ms ${r.nsPerUnit.toFixed(2).padStart(6)} ns/unit\n`,
    );
  }
  const b = bounds(rows);
  process.stdout.write(
    `costliest ${b.worstNsPerUnit.toFixed(2)} ns/unit: a request's matching ≤ ${b.requestMs.toFixed(1)} ms, a comparison ≤ ${b.comparisonMs.toFixed(2)} ms, a slice ≤ ${b.sliceMs.toFixed(2)} ms\n`,
  );
}
