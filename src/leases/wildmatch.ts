import {
  ANY,
  literalPattern,
  NOT_SLASH,
  ONLY_SLASH,
  parsePattern,
  type Pattern,
  type Ranges,
} from './glob.js';
import { dfaCellsFor, startSubset, type Dfa } from './subsets.js';
import { unlimited, type Budget } from './work.js';

// Wildmatch patterns (glob.ts) compiled to small automata, and the two questions lease overlap
// asks of them. "Does this glob match this path" runs the automaton over the path (subsets.ts).
// "Could these two globs ever match one path" is the emptiness of the intersection of two regular
// languages: a product search over the two automata answers it exactly, in time proportional to
// the state pairs it reaches (a few hundred for realistic surfaces).
//
// Every step is charged to a Budget before it is taken; when the budget says no, the answer is
// "they may overlap", the safe side. Charges are upper bounds of the work, in the units of
// work.ts, so that no input can do more than its budget allows.

/**
 * An NFA whose start state is 0, packed into a few typed arrays: it is kept in the surface cache
 * between requests, and a handful of large objects costs the garbage collector far less than an
 * object per state. The moves of state s are entries start[s] to start[s + 1] of its lists.
 */
export interface Automaton {
  states: number;
  accept: number;
  edgeStart: Int32Array;
  edgeTo: Int32Array;
  edgeSet: readonly Ranges[];
  epsStart: Int32Array;
  epsTo: Int32Array;
  /** Per state, the states reachable from it by ε moves (itself included). */
  closureStart: Int32Array;
  closureIds: Int32Array;
  /** Per state, whether the accepting state can still be reached from it. */
  live: Uint8Array;
  /** Per state, the ranges its edges hold in all: the cost of comparing them. */
  rangeWork: Int32Array;
  /** Per state, the cost of following it one character in the subset walk of accepts(). */
  stepWork: Int32Array;
  /** Filled in by accepts() as it goes. */
  dfa: Dfa;
}

// Units charged per product pair visited and per move tried from it, and per state a subset
// step brings in (calibrated with bench/matching.ts).
const PAIR_VISIT = 20;
const PAIR_MOVE = 4;
const STEP_PER_STATE = 32;

/** What compile() costs, charged before it runs. */
export const compileWork = (p: Pattern): number => 16 + 36 * p.tokens.length;

class Builder {
  states = 1;
  cur = 0;
  readonly edgeFrom: number[] = [];
  readonly edgeTo: number[] = [];
  readonly edgeSet: Ranges[] = [];
  readonly epsFrom: number[] = [];
  readonly epsTo: number[] = [];

  add(): number {
    return this.states++;
  }
  step(set: Ranges) {
    const to = this.add();
    this.edge(this.cur, set, to);
    this.cur = to;
  }
  edge(from: number, set: Ranges, to: number) {
    this.edgeFrom.push(from);
    this.edgeSet.push(set);
    this.edgeTo.push(to);
  }
  epsilon(from: number, to: number) {
    this.epsFrom.push(from);
    this.epsTo.push(to);
  }
}

/** Compiles a pattern; `directory` (a trailing `/`) adds everything inside what it matches. */
export function compile(pattern: Pattern, directory = false): Automaton {
  const b = new Builder();
  for (const t of pattern.tokens) {
    if (t.kind === 'one') b.step(t.set);
    else if (t.kind === 'star') b.edge(b.cur, NOT_SLASH, b.cur);
    else if (t.kind === 'rest') b.edge(b.cur, ANY, b.cur);
    else {
      // `**/`: no directory at all, or anything followed by `/`.
      const through = b.add();
      const after = b.add();
      b.epsilon(b.cur, after);
      b.epsilon(b.cur, through);
      b.edge(through, ANY, through);
      b.edge(through, ONLY_SLASH, after);
      b.cur = after;
    }
  }
  let accept = b.cur;
  if (directory) {
    // `dir/` covers the directory and everything inside it: (ε | `/` Σ*).
    accept = b.add();
    const inside = b.add();
    b.epsilon(b.cur, accept);
    b.edge(b.cur, ONLY_SLASH, inside);
    b.edge(inside, ANY, inside);
    b.epsilon(inside, accept);
  }
  const n = b.states;
  const edges = pack(n, b.edgeFrom);
  const edgeTo = edges.order.map((k) => b.edgeTo[k] as number);
  const edgeSet = Array.from(edges.order, (k) => b.edgeSet[k] as Ranges);
  const eps = pack(n, b.epsFrom);
  const epsTo = eps.order.map((k) => b.epsTo[k] as number);
  const closures = closuresOf(n, eps.start, epsTo);
  const rangeWork = new Int32Array(n);
  const stepWork = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    let ranges = 0;
    let step = 0;
    for (let e = edges.start[s] as number; e < (edges.start[s + 1] as number); e++) {
      const r = (edgeSet[e] as Ranges).length;
      const to = edgeTo[e] as number;
      const brought = (closures.start[to + 1] as number) - (closures.start[to] as number);
      ranges += r;
      // Trying the edge, then adding, sorting and keying the states its closure brings in.
      step += 2 + 2 * r + STEP_PER_STATE * brought;
    }
    rangeWork[s] = ranges;
    stepWork[s] = step;
  }
  const dfa: Dfa = { known: new Map(), cells: 0, maxCells: dfaCellsFor(n) };
  const a: Automaton = {
    states: n,
    accept,
    edgeStart: edges.start,
    edgeTo,
    edgeSet,
    epsStart: eps.start,
    epsTo,
    closureStart: closures.start,
    closureIds: closures.ids,
    live: liveStates(n, b, accept),
    rangeWork,
    stepWork,
    dfa,
  };
  startSubset(a, Array.from(closures.ids.subarray(0, closures.start[1])));
  return a;
}

/** Groups moves by the state they leave: start[s] is where state s's moves begin in `order`. */
function pack(n: number, from: readonly number[]): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(n + 1);
  for (const f of from) start[f + 1] = (start[f + 1] as number) + 1;
  for (let s = 0; s < n; s++) start[s + 1] = (start[s + 1] as number) + (start[s] as number);
  const fill = start.slice(0, n);
  const order = new Int32Array(from.length);
  from.forEach((f, k) => {
    const at = fill[f] as number;
    order[at] = k;
    fill[f] = at + 1;
  });
  return { start, order };
}

/** ε-closures by one walk per state; collapsed `**` keeps them a few states long. */
function closuresOf(n: number, epsStart: Int32Array, epsTo: Int32Array) {
  const mark = new Int32Array(n).fill(-1);
  const start = new Int32Array(n + 1);
  const ids: number[] = [];
  const stack: number[] = [];
  for (let s0 = 0; s0 < n; s0++) {
    start[s0] = ids.length;
    stack.push(s0);
    mark[s0] = s0;
    while (stack.length > 0) {
      const s = stack.pop() as number;
      ids.push(s);
      for (let e = epsStart[s] as number; e < (epsStart[s + 1] as number); e++) {
        const t = epsTo[e] as number;
        if (mark[t] !== s0) {
          mark[t] = s0;
          stack.push(t);
        }
      }
    }
  }
  start[n] = ids.length;
  return { start, ids: Int32Array.from(ids) };
}

/** The states from which `accept` is reachable: a walk back along every move. */
function liveStates(n: number, b: Builder, accept: number): Uint8Array {
  const from = [...b.edgeTo, ...b.epsTo];
  const to = [...b.edgeFrom, ...b.epsFrom];
  const back = pack(n, from);
  const live = new Uint8Array(n);
  const stack = [accept];
  live[accept] = 1;
  while (stack.length > 0) {
    const s = stack.pop() as number;
    for (let e = back.start[s] as number; e < (back.start[s + 1] as number); e++) {
      const t = to[back.order[e] as number] as number;
      if (!live[t]) {
        live[t] = 1;
        stack.push(t);
      }
    }
  }
  return live;
}

/** Compiles a wildmatch pattern (without its trailing `/`, passed as `directory`). */
export function compileGlob(pattern: string, directory = false): Automaton {
  return compile(parsePattern(pattern), directory);
}

/** The path spelled exactly as written, every character literal. */
export function compileLiteral(path: string, directory = false): Automaton {
  return compile(literalPattern(path), directory);
}

/** Whether two sets share a character. */
function meet(a: Ranges, b: Ranges): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [alo, ahi] = a[i] as readonly [number, number];
    const [blo, bhi] = b[j] as readonly [number, number];
    if (alo <= bhi && blo <= ahi) return true;
    if (ahi < bhi) i++;
    else j++;
  }
  return false;
}

/** Whether some string is accepted by both automata: a search of their product. */
export function intersects(a: Automaton, b: Automaton, budget: Budget = unlimited()): boolean {
  const width = b.states;
  const size = a.states * width;
  if (!budget.spend(4 + (size >> 4))) return true;
  const seen = new Uint8Array(size);
  const stack: number[] = [0];
  seen[0] = 1;
  const visit = (ta: number, tb: number) => {
    const k = ta * width + tb;
    if (seen[k] || !a.live[ta] || !b.live[tb]) return;
    seen[k] = 1;
    stack.push(k);
  };
  while (stack.length > 0) {
    const key = stack.pop() as number;
    const i = (key / width) | 0;
    const j = key - i * width;
    if (i === a.accept && j === b.accept) return true;
    const ea0 = a.edgeStart[i] as number;
    const ea1 = a.edgeStart[i + 1] as number;
    const eb0 = b.edgeStart[j] as number;
    const eb1 = b.edgeStart[j + 1] as number;
    const ua0 = a.epsStart[i] as number;
    const ua1 = a.epsStart[i + 1] as number;
    const ub0 = b.epsStart[j] as number;
    const ub1 = b.epsStart[j + 1] as number;
    const cost =
      PAIR_VISIT +
      PAIR_MOVE * (ua1 - ua0 + ub1 - ub0 + (ea1 - ea0) * (eb1 - eb0)) +
      (ea1 - ea0) * (b.rangeWork[j] as number) +
      (eb1 - eb0) * (a.rangeWork[i] as number);
    if (!budget.spend(cost)) return true;
    for (let u = ua0; u < ua1; u++) visit(a.epsTo[u] as number, j);
    for (let u = ub0; u < ub1; u++) visit(i, b.epsTo[u] as number);
    for (let x = ea0; x < ea1; x++) {
      const sx = a.edgeSet[x] as Ranges;
      for (let y = eb0; y < eb1; y++) {
        if (meet(sx, b.edgeSet[y] as Ranges)) visit(a.edgeTo[x] as number, b.edgeTo[y] as number);
      }
    }
  }
  return false;
}
