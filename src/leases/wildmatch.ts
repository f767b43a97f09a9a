// git's wildmatch (with WM_PATHNAME, case-sensitive) compiled to a small automaton, and the test
// that two automata accept a common string. Lease overlap needs more than "does this path match
// this glob": it must decide whether two globs could ever match one path, which is the emptiness
// of the intersection of two regular languages. A product search over two NFAs answers it exactly,
// in time proportional to the reachable state pairs (a few hundred for realistic surfaces).
//
// Semantics, as in git: `*` is any run of characters without `/`; `?` and `[...]` are one
// character other than `/`; `**` as a whole segment crosses directories (`a/**`, `**/b`,
// `a/**/b`, where `**/` may also match no directory); `**` inside a segment is a plain `*`.
// Classes take ranges, `!` or `^` negation, a leading `]` as a member, and `[:alpha:]`-style
// POSIX names (ASCII). There are no escapes: surfaces refuse backslashes before they get here.

type Ranges = readonly (readonly [number, number])[];

const MAX_CODE_POINT = 0x10ffff;
const SLASH = 0x2f;
const ANY: Ranges = [[0, MAX_CODE_POINT]];
const NOT_SLASH: Ranges = [
  [0, SLASH - 1],
  [SLASH + 1, MAX_CODE_POINT],
];
const ONLY_SLASH: Ranges = [[SLASH, SLASH]];

const cp = (c: string) => c.codePointAt(0) as number;
const range = (a: string, b: string): [number, number] => [cp(a), cp(b)];

const POSIX: Record<string, [number, number][]> = {
  alnum: [range('0', '9'), range('A', 'Z'), range('a', 'z')],
  alpha: [range('A', 'Z'), range('a', 'z')],
  blank: [range(' ', ' '), range('\t', '\t')],
  cntrl: [
    [0, 31],
    [127, 127],
  ],
  digit: [range('0', '9')],
  graph: [[33, 126]],
  lower: [range('a', 'z')],
  print: [[32, 126]],
  punct: [
    [33, 47],
    [58, 64],
    [91, 96],
    [123, 126],
  ],
  space: [
    [9, 13],
    [32, 32],
  ],
  upper: [range('A', 'Z')],
  xdigit: [range('0', '9'), range('A', 'F'), range('a', 'f')],
};

/** Sorted, merged, with `/` removed: a class never matches `/` under WM_PATHNAME. */
function normalise(ranges: readonly (readonly [number, number])[], negate: boolean): Ranges {
  const sorted = ranges.filter(([lo, hi]) => lo <= hi).sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  let out: [number, number][] = merged;
  if (negate) {
    out = [];
    let next = 0;
    for (const [lo, hi] of merged) {
      if (lo > next) out.push([next, lo - 1]);
      next = hi + 1;
    }
    if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  }
  return out.flatMap(([lo, hi]): [number, number][] => {
    if (hi < SLASH || lo > SLASH) return [[lo, hi]];
    const parts: [number, number][] = [];
    if (lo < SLASH) parts.push([lo, SLASH - 1]);
    if (hi > SLASH) parts.push([SLASH + 1, hi]);
    return parts;
  });
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

export class GlobSyntaxError extends Error {}

/** Parses the class whose `[` is at chars[start]; returns its set and the index after `]`. */
function parseClass(chars: string[], start: number): { set: Ranges; end: number } {
  let i = start + 1;
  const negate = chars[i] === '!' || chars[i] === '^';
  if (negate) i++;
  const members: [number, number][] = [];
  let prev: number | undefined;
  for (let first = true; ; first = false) {
    const c = chars[i];
    if (c === undefined) {
      throw new GlobSyntaxError('a "[" has no closing "]"; close the class, e.g. [abc]');
    }
    if (c === ']' && !first) return { set: normalise(members, negate), end: i + 1 };
    const next = chars[i + 1];
    if (c === '-' && prev !== undefined && next !== undefined && next !== ']') {
      members.push([prev, cp(next)]);
      prev = undefined;
      i += 2;
      continue;
    }
    if (c === '[' && next === ':') {
      const close = chars.indexOf(']', i + 2);
      const name = chars.slice(i + 2, close - 1).join('');
      if (close > i + 2 && chars[close - 1] === ':') {
        const posix = POSIX[name];
        if (!posix) {
          throw new GlobSyntaxError(
            `unknown character class [:${name}:]; use one of ${Object.keys(POSIX).join(', ')}`,
          );
        }
        members.push(...posix);
        prev = undefined;
        i = close + 1;
        continue;
      }
    }
    prev = cp(c);
    members.push([prev, prev]);
    i++;
  }
}

interface State {
  eps: number[];
  edges: { set: Ranges; to: number }[];
}

/** An NFA whose start state is 0. */
export interface Automaton {
  states: readonly State[];
  accept: number;
  /** Per state, the states reachable from it by ε moves (itself included). */
  closures: readonly (readonly number[])[];
  /** Filled in by accepts() as it goes. */
  dfa: Dfa;
}

class Builder {
  readonly states: State[] = [{ eps: [], edges: [] }];
  cur = 0;

  add(): number {
    this.states.push({ eps: [], edges: [] });
    return this.states.length - 1;
  }
  step(set: Ranges) {
    const to = this.add();
    this.edge(this.cur, set, to);
    this.cur = to;
  }
  edge(from: number, set: Ranges, to: number) {
    (this.states[from] as State).edges.push({ set, to });
  }
  eps(from: number, to: number) {
    (this.states[from] as State).eps.push(to);
  }
  /** `dir/` covers the directory and everything inside it: (ε | `/` Σ*). */
  finish(directory: boolean): Automaton {
    let accept = this.cur;
    if (directory) {
      accept = this.add();
      const inside = this.add();
      this.eps(this.cur, accept);
      this.edge(this.cur, ONLY_SLASH, inside);
      this.edge(inside, ANY, inside);
      this.eps(inside, accept);
    }
    const closures = this.states.map((_, i) => this.closure(i));
    const known = new Map<string, Subset>();
    const start = subsetOf(accept, [...(closures[0] as number[])], known);
    return { states: this.states, accept, closures, dfa: { start, known } };
  }
  private closure(start: number): number[] {
    const out: number[] = [];
    const stack = [start];
    while (stack.length > 0) {
      const s = stack.pop() as number;
      if (out.includes(s)) continue;
      out.push(s);
      stack.push(...(this.states[s] as State).eps);
    }
    return out;
  }
}

/** Compiles a wildmatch pattern (without its trailing `/`, passed as `directory`). */
export function compileGlob(pattern: string, directory = false): Automaton {
  const chars = Array.from(pattern);
  const b = new Builder();
  for (let i = 0; i < chars.length;) {
    const c = chars[i] as string;
    if (c === '*') {
      let j = i;
      while (chars[j] === '*') j++;
      const wholeSegment =
        j - i >= 2 && (i === 0 || chars[i - 1] === '/') && (j === chars.length || chars[j] === '/');
      if (!wholeSegment) {
        b.edge(b.cur, NOT_SLASH, b.cur);
      } else if (j === chars.length) {
        b.edge(b.cur, ANY, b.cur);
      } else {
        // `**/`: no directory at all, or anything followed by `/`.
        const through = b.add();
        const after = b.add();
        b.eps(b.cur, after);
        b.eps(b.cur, through);
        b.edge(through, ANY, through);
        b.edge(through, ONLY_SLASH, after);
        b.cur = after;
        j++; // the `/` is part of `**/`
      }
      i = j;
    } else if (c === '?') {
      b.step(NOT_SLASH);
      i++;
    } else if (c === '[') {
      const { set, end } = parseClass(chars, i);
      b.step(set);
      i = end;
    } else {
      b.step([[cp(c), cp(c)]]);
      i++;
    }
  }
  return b.finish(directory);
}

/** The path spelled exactly as written, every character literal. */
export function compileLiteral(path: string, directory = false): Automaton {
  const b = new Builder();
  for (const c of path) b.step([[cp(c), cp(c)]]);
  return b.finish(directory);
}

/**
 * The matching work one request may do. A pathological glob can make one comparison cost
 * millions of steps, and matching runs on the event loop every tenant shares; past the budget,
 * answers err toward "yes, they may overlap", the safe side. Units are roughly 10 ns of work.
 */
export class Budget {
  constructor(public left: number) {}
  spend(units: number): boolean {
    this.left -= units;
    return this.left >= 0;
  }
}

const unlimited = () => new Budget(Number.POSITIVE_INFINITY);

/** Whether some string is accepted by both automata: a search of their product. */
export function intersects(a: Automaton, b: Automaton, budget = unlimited()): boolean {
  const width = b.states.length;
  const seen = new Uint8Array(a.states.length * width);
  const stack: number[] = [0];
  while (stack.length > 0) {
    const key = stack.pop() as number;
    if (seen[key]) continue;
    seen[key] = 1;
    const i = Math.floor(key / width);
    const j = key % width;
    if (i === a.accept && j === b.accept) return true;
    const sa = a.states[i] as State;
    const sb = b.states[j] as State;
    if (!budget.spend(1 + sa.edges.length * sb.edges.length)) return true;
    for (const to of sa.eps) stack.push(to * width + j);
    for (const to of sb.eps) stack.push(i * width + to);
    for (const ea of sa.edges) {
      for (const eb of sb.edges) {
        if (meet(ea.set, eb.set)) stack.push(ea.to * width + eb.to);
      }
    }
  }
  return false;
}

/**
 * Whether the automaton accepts this one string: the common question (a concrete path against a
 * lease), answered by running it over the string rather than searching a product. The subset
 * states it passes through are kept (a lazily built DFA), so checking many paths against one
 * lease costs about one map lookup per character.
 */
export function accepts(a: Automaton, text: string, budget = unlimited()): boolean {
  let d = a.dfa.start;
  for (let i = 0; i < text.length;) {
    const code = text.codePointAt(i) as number;
    i += code > 0xffff ? 2 : 1;
    let n = d.next.get(code);
    if (!budget.spend(n === undefined ? 100 + 40 * d.ids.length : 1)) return true;
    if (n === undefined) {
      n = subsetStep(a, d, code);
      // Only steps between kept subsets are remembered, so an automaton whose subsets outgrow
      // the bound (a pathological glob) costs time, never memory that outlives the step.
      if (d.kept && (n === null || n.kept)) d.next.set(code, n);
    }
    if (n === null) return false;
    d = n;
  }
  return d.accepting;
}

/** A set of NFA states, as one state of the lazily built DFA. */
interface Subset {
  ids: readonly number[];
  accepting: boolean;
  /** Whether it is one of the automaton's remembered subsets. */
  kept: boolean;
  next: Map<number, Subset | null>;
}

interface Dfa {
  start: Subset;
  known: Map<string, Subset>;
}

// Bounds the memory one automaton can take; past it, steps are computed but not kept.
const MAX_SUBSETS = 256;

function subsetOf(accept: number, ids: number[], known: Map<string, Subset>): Subset {
  ids.sort((x, y) => x - y);
  const key = ids.join(',');
  const found = known.get(key);
  if (found) return found;
  const kept = known.size < MAX_SUBSETS;
  const subset = { ids, accepting: ids.includes(accept), kept, next: new Map() };
  if (kept) known.set(key, subset);
  return subset;
}

function subsetStep(a: Automaton, from: Subset, code: number): Subset | null {
  const ids = new Set<number>();
  for (const s of from.ids) {
    for (const e of (a.states[s] as State).edges) {
      if (contains(e.set, code)) for (const t of a.closures[e.to] as number[]) ids.add(t);
    }
  }
  if (ids.size === 0) return null;
  return subsetOf(a.accept, [...ids], a.dfa.known);
}

function contains(set: Ranges, code: number): boolean {
  for (let i = 0; i < set.length; i++) {
    const r = set[i] as readonly [number, number];
    if (code < r[0]) return false;
    if (code <= r[1]) return true;
  }
  return false;
}
