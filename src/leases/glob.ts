// A git wildmatch pattern (WM_PATHNAME, case-sensitive) read into tokens, the input of the
// automata in wildmatch.ts.
//
// Semantics, as in git: `*` is any run of characters without `/`; `?` and `[...]` are one
// character other than `/`; `**` as a whole segment crosses directories (`a/**`, `**/b`,
// `a/**/b`, where `**/` may also match no directory); `**` inside a segment is a plain `*`.
// Classes take ranges, `!` or `^` negation, a leading `]` as a member, and `[:alpha:]`-style
// POSIX names (ASCII). There are no escapes: surfaces refuse backslashes before they get here.
// (The kit matches its config globs with a smaller engine of its own, kit/hooks/lib/config.mjs,
// which says where the two differ.)
//
// Consecutive whole-segment `**` are collapsed (`**/**/x` is `**/x`, `a/**/**` is `a/**`): they
// match the same paths, and a run of them would otherwise make an automaton whose every state
// reaches every other by empty moves.

export type Range = readonly [number, number];
export type Ranges = readonly Range[];

const MAX_CODE_POINT = 0x10ffff;
export const SLASH = 0x2f;
export const ANY: Ranges = [[0, MAX_CODE_POINT]];
export const NOT_SLASH: Ranges = [
  [0, SLASH - 1],
  [SLASH + 1, MAX_CODE_POINT],
];
export const ONLY_SLASH: Ranges = [[SLASH, SLASH]];

// One shared set and token per ASCII character: most of a surface is literal text, and parsed
// surfaces are kept in a cache, where an object per character would weigh on the collector.
const ASCII: Ranges[] = Array.from({ length: 128 }, (_, c) => [[c, c]]);
const single = (c: number): Ranges => ASCII[c] ?? [[c, c]];

export type Token =
  /** One character from `set`; `literal` when the pattern spelled exactly that character. */
  | { kind: 'one'; set: Ranges; literal?: number }
  /** `*`: any run of characters without `/`. */
  | { kind: 'star' }
  /** A whole-segment `**` followed by `/`: no directory, or anything ending in `/`. */
  | { kind: 'dirs' }
  /** A whole-segment `**` at the end: anything. */
  | { kind: 'rest' };

export interface Pattern {
  tokens: readonly Token[];
  /** `*` runs, `?`, classes and whole-segment `**`, after collapsing. */
  wildcards: number;
  /** Whole-segment `**`, after collapsing. */
  globstars: number;
  /** Literal `/` (those of `**\/` not counted): without `**`, every match has exactly these. */
  slashes: number;
  /** Text that every string the pattern matches starts with. */
  prefix: string;
  /** Text that every string the pattern matches ends with. */
  suffix: string;
}

export class GlobSyntaxError extends Error {}

const LITERAL: Token[] = ASCII.map((set, c) => ({ kind: 'one', set, literal: c }));
const literalToken = (c: number): Token =>
  LITERAL[c] ?? { kind: 'one', set: single(c), literal: c };

const STAR: Token = { kind: 'star' };
const DIRS: Token = { kind: 'dirs' };
const REST: Token = { kind: 'rest' };

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

/**
 * Parses the class whose `[` is at chars[start]; returns its set and the index after `]`.
 * `closeAfter[i]` is the index of the first `]` at or after i, so that a pattern full of `[:`
 * is not read over and over looking for `:]`.
 */
function parseClass(
  chars: string[],
  closeAfter: Int32Array,
  start: number,
): { set: Ranges; end: number } {
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
      const close = closeAfter[i + 2] as number;
      if (close > i + 2 && chars[close - 1] === ':') {
        const name = chars.slice(i + 2, close - 1).join('');
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

/** Reads a wildmatch pattern (without the trailing `/` of a directory) into tokens. */
export function parsePattern(pattern: string): Pattern {
  const chars = Array.from(pattern);
  const closeAfter = new Int32Array(chars.length + 2).fill(-1);
  for (let i = chars.length - 1; i >= 0; i--) {
    closeAfter[i] = chars[i] === ']' ? i : (closeAfter[i + 1] as number);
  }
  const tokens: Token[] = [];
  let wildcards = 0;
  let globstars = 0;
  for (let i = 0; i < chars.length;) {
    const c = chars[i] as string;
    if (c === '*') {
      let j = i;
      while (chars[j] === '*') j++;
      const wholeSegment =
        j - i >= 2 && (i === 0 || chars[i - 1] === '/') && (j === chars.length || chars[j] === '/');
      const collapses = tokens[tokens.length - 1] === DIRS;
      if (!wholeSegment) {
        tokens.push(STAR);
        wildcards++;
      } else if (j === chars.length) {
        // `**/**` at the end is `**`.
        if (collapses) tokens[tokens.length - 1] = REST;
        else {
          tokens.push(REST);
          wildcards++;
          globstars++;
        }
      } else {
        if (!collapses) {
          tokens.push(DIRS);
          wildcards++;
          globstars++;
        }
        j++; // the `/` is part of `**/`
      }
      i = j;
    } else if (c === '?') {
      tokens.push({ kind: 'one', set: NOT_SLASH });
      wildcards++;
      i++;
    } else if (c === '[') {
      const { set, end } = parseClass(chars, closeAfter, i);
      tokens.push({ kind: 'one', set });
      wildcards++;
      i = end;
    } else {
      tokens.push(literalToken(cp(c)));
      i++;
    }
  }
  const slashes = tokens.filter((t) => t.kind === 'one' && t.literal === SLASH).length;
  return {
    tokens,
    wildcards,
    globstars,
    slashes,
    prefix: literalRun(tokens, 1),
    suffix: literalRun(tokens, -1),
  };
}

/** The literal text at the start (step 1) or the end (step -1) of the tokens. */
function literalRun(tokens: readonly Token[], step: 1 | -1): string {
  const codes: number[] = [];
  for (let i = step === 1 ? 0 : tokens.length - 1; i >= 0 && i < tokens.length; i += step) {
    const t = tokens[i] as Token;
    if (t.kind !== 'one' || t.literal === undefined) break;
    codes.push(t.literal);
  }
  if (step === -1) codes.reverse();
  return String.fromCodePoint(...codes);
}

export function slashesIn(text: string): number {
  let n = 0;
  for (let i = text.indexOf('/'); i >= 0; i = text.indexOf('/', i + 1)) n++;
  return n;
}

/** The tokens of a path read literally, every character itself. */
export function literalPattern(path: string): Pattern {
  const tokens: Token[] = [];
  for (const c of path) tokens.push(literalToken(cp(c)));
  return {
    tokens,
    wildcards: 0,
    globstars: 0,
    slashes: slashesIn(path),
    prefix: path,
    suffix: path,
  };
}
