import { SLASH, type Ranges } from './glob.js';
import type { Automaton } from './wildmatch.js';
import { unlimited, type Budget } from './work.js';

// Running an automaton over one concrete string, by sets of its states (the subset
// construction, built lazily). The sets it passes through are remembered with the automaton, up
// to a bound, so checking many paths against one lease costs about one map lookup a character;
// a pathological glob whose sets never repeat costs time, charged to the budget, never memory.

/**
 * Whether the automaton accepts this one string: the common question (a concrete path against a
 * lease), answered by running it over the string rather than searching a product. The subset
 * states it passes through are kept (a lazily built DFA, bounded), so checking many paths
 * against one lease costs about one map lookup per character.
 */
export function accepts(a: Automaton, text: string, budget: Budget = unlimited()): boolean {
  const d = run(a, text, budget);
  return d === undefined || (d !== null && d.accepting);
}

/**
 * Whether the automaton accepts the directory `dir` or anything inside it: `dir` itself, or
 * `dir/` followed by whatever leads on to acceptance.
 */
export function acceptsWithin(a: Automaton, dir: string, budget: Budget = unlimited()): boolean {
  const d = run(a, dir, budget);
  if (d === undefined) return true;
  if (d === null) return false;
  if (d.accepting) return true;
  const inside = next(a, d, SLASH, budget);
  return inside === undefined || (inside !== null && inside.live);
}

/** The subset reached after the string: null when none, undefined when the budget ran out. */
function run(a: Automaton, text: string, budget: Budget): Subset | null | undefined {
  let d = a.dfa.start as Subset;
  let paidTo = 0;
  for (let i = 0; i < text.length;) {
    // Remembered steps cost three units a character, charged a block at a time: most runs end
    // within a few characters.
    if (i >= paidTo) {
      if (!budget.spend(1 + 3 * Math.min(RUN_BLOCK, text.length - i))) return undefined;
      paidTo = i + RUN_BLOCK;
    }
    const code = text.codePointAt(i) as number;
    i += code > 0xffff ? 2 : 1;
    const n = next(a, d, code, budget);
    if (n === undefined) return undefined;
    if (n === null) return null;
    d = n;
  }
  return d;
}

const RUN_BLOCK = 16;

function next(a: Automaton, d: Subset, code: number, budget: Budget): Subset | null | undefined {
  const known = d.next.get(code);
  if (known !== undefined) return known;
  if (!budget.spend(d.work)) return undefined;
  const n = subsetStep(a, d, code);
  // Only steps between kept subsets are remembered, and only so many, so an automaton whose
  // subsets outgrow the bound (a pathological glob) costs time, never memory that outlives it.
  if (d.kept && (n === null || n.kept) && a.dfa.cells < a.dfa.maxCells) {
    d.next.set(code, n);
    a.dfa.cells++;
  }
  return n;
}

/** A set of NFA states, as one state of the lazily built DFA. */
interface Subset {
  ids: readonly number[];
  accepting: boolean;
  /** Whether acceptance can still be reached from it. */
  live: boolean;
  /** Whether it is one of the automaton's remembered subsets. */
  kept: boolean;
  /** What one step from it costs when not remembered. */
  work: number;
  next: Map<number, Subset | null>;
}

export interface Dfa {
  /** Set by startSubset() once the automaton is built. */
  start?: Subset;
  known: Map<string, Subset>;
  /** Remembered subset members and steps, at most maxCells. */
  cells: number;
  maxCells: number;
}

/** Bounds the memory one automaton's remembered DFA takes (subset members plus steps). */
export const dfaCellsFor = (states: number): number => Math.min(1024, 64 + 4 * states);

/** Sets the automaton's first subset: the start state's closure. */
export function startSubset(a: Automaton, ids: number[]): void {
  a.dfa.start = subsetOf(a, ids);
}

function subsetOf(a: Automaton, ids: number[]): Subset {
  ids.sort((x, y) => x - y);
  const key = ids.join(',');
  const found = a.dfa.known.get(key);
  if (found) return found;
  const kept = a.dfa.cells + ids.length < a.dfa.maxCells;
  let work = 4;
  let live = false;
  for (const s of ids) {
    work += a.stepWork[s] as number;
    live ||= a.live[s] === 1;
  }
  const subset = { ids, accepting: ids.includes(a.accept), live, kept, work, next: new Map() };
  if (kept) {
    a.dfa.known.set(key, subset);
    a.dfa.cells += ids.length;
  }
  return subset;
}

function subsetStep(a: Automaton, from: Subset, code: number): Subset | null {
  const ids = new Set<number>();
  for (const s of from.ids) {
    for (let e = a.edgeStart[s] as number; e < (a.edgeStart[s + 1] as number); e++) {
      if (!contains(a.edgeSet[e] as Ranges, code)) continue;
      const to = a.edgeTo[e] as number;
      for (let c = a.closureStart[to] as number; c < (a.closureStart[to + 1] as number); c++) {
        ids.add(a.closureIds[c] as number);
      }
    }
  }
  if (ids.size === 0) return null;
  return subsetOf(a, [...ids]);
}

function contains(set: Ranges, code: number): boolean {
  for (let i = 0; i < set.length; i++) {
    const r = set[i] as readonly [number, number];
    if (code < r[0]) return false;
    if (code <= r[1]) return true;
  }
  return false;
}
