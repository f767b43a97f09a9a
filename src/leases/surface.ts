import { LANE } from '../names.js';
import { LruCache } from './cache.js';
import { GlobSyntaxError, parsePattern, slashesIn, type Pattern } from './glob.js';
import {
  MAX_GLOB_GLOBSTARS,
  MAX_GLOB_WILDCARDS,
  MAX_SURFACE_LENGTH,
  SURFACE_CACHE_WEIGHT,
} from './limits.js';
import { dfaCellsFor } from './subsets.js';
import { compile, compileWork, type Automaton } from './wildmatch.js';
import type { Budget } from './work.js';

// Lease surfaces as text: a path (`src/db/pool.ts`), a directory (`src/db/`, covering everything
// inside it), a git wildmatch glob (`src/**/*.ts`) or a named lane (`lane:feeds-refactor`).
// Input is parsed strictly (parseSurface, parsePath); surfaces read back from the database are
// parsed once and kept, compiled, in a cache shared by every request (storedSurface).

export interface Surface {
  /** As leased: the text that identifies the lease for renewal and release. */
  text: string;
  /** The lane name of a `lane:` surface. */
  lane?: string;
  /** The path as written, every character literal, without a directory's trailing `/`. */
  body: string;
  /** A trailing `/`: the path and everything inside it. */
  directory: boolean;
  /** Set when the surface has wildcards: git's reading of it, besides the literal one. */
  pattern?: Pattern;
  /** Every path the surface covers, in either reading, starts with this. */
  prefix: string;
  /** ... and ends with this. */
  suffix: string;
  /** The fewest and most segments a path it covers has (Infinity: no limit). */
  depth: readonly [number, number];
  /** The pattern compiled, on first need. */
  automaton?: Automaton;
}

export type GlobSurface = Surface & { pattern: Pattern };
export const isGlob = (s: Surface): s is GlobSurface => s.pattern !== undefined;

export const LANE_PREFIX = 'lane:';
const GLOB_CHARS = /[*?[]/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Half a UTF-16 pair cannot be stored as UTF-8; it would come back as U+FFFD, another surface.
const SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const EMPTY_SEGMENT = /\/\/|\/$/;
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** Thrown with a message that says how to write the surface instead. */
export class SurfaceError extends Error {}

/** A lease surface as a client sends it: path, directory, glob or lane, within the limits. */
export function parseSurface(text: string): Surface {
  const surface = readSurface(text);
  const p = surface.pattern;
  if (p && p.wildcards > MAX_GLOB_WILDCARDS) {
    throw new SurfaceError(
      `\`${clip(text)}\`: a glob may have at most ${MAX_GLOB_WILDCARDS} wildcards (\`*\`, \`?\`, \`[...]\`, \`**\`); this one has ${p.wildcards}`,
    );
  }
  if (p && p.globstars > MAX_GLOB_GLOBSTARS) {
    throw new SurfaceError(
      `\`${clip(text)}\`: a glob may have at most ${MAX_GLOB_GLOBSTARS} \`**\` segments (consecutive ones count once); this one has ${p.globstars}`,
    );
  }
  return surface;
}

/**
 * A surface read without the glob limits: what a release names, since a lease granted before a
 * limit existed must still be releasable by its surface.
 */
export function readSurface(text: string): Surface {
  const lane = parseLane(text);
  if (lane) return lane;
  const { body, directory } = checkPath(text);
  if (!GLOB_CHARS.test(body)) return literal(text, body, directory);
  let pattern: Pattern;
  try {
    pattern = parsePattern(body);
  } catch (err) {
    if (err instanceof GlobSyntaxError) throw new SurfaceError(`\`${clip(text)}\`: ${err.message}`);
    throw err;
  }
  // The literal reading starts and ends with the same text as the glob's, unless a directory,
  // and has at least as many segments: `*`, `?` and classes never match "/", only `**` does.
  const segments = slashesIn(body) + 1;
  const most = directory || pattern.globstars > 0 ? Infinity : segments;
  return {
    text,
    body,
    directory,
    pattern,
    prefix: pattern.prefix,
    suffix: directory ? '' : pattern.suffix,
    depth: [pattern.slashes + 1, most],
  };
}

const ANY_DEPTH = [0, Infinity] as const;
/** What a stored surface no longer readable by today's rules is taken to cover: every path. */
const ANY_PATH = parsePattern('**');

function literal(text: string, body: string, directory: boolean): Surface {
  const segments = slashesIn(body) + 1;
  return {
    text,
    body,
    directory,
    prefix: body,
    suffix: directory ? '' : body,
    depth: [segments, directory ? Infinity : segments],
  };
}

/**
 * A concrete path as a guard asks about it (check_paths): every character literal, so
 * `app/[id]/page.tsx` is that file. `*` and `?` are refused, since no real path needs them and a
 * glob here would be a misunderstanding; a glob is asked about with who_holds.
 */
export function parsePath(text: string): Surface {
  const lane = parseLane(text);
  if (lane) return lane;
  if (/[*?]/.test(text)) {
    throw new SurfaceError(
      `\`${clip(text)}\` is a glob; pass concrete paths here, or ask who_holds about a glob`,
    );
  }
  const { body, directory } = checkPath(text);
  return literal(text, body, directory);
}

// Memory an entry may come to, in bytes as measured on V8: the surface and its text, its tokens
// (shared objects, one pointer each), the automaton (a few typed arrays, about 48 bytes a state)
// and the most its remembered DFA may hold (about 40 bytes a cell).
const weigh = (s: Surface): number => {
  const tokens = s.pattern?.tokens.length ?? 0;
  const states = tokens + 2 * (s.pattern?.globstars ?? 0) + 3;
  return (
    300 + 2 * s.text.length + (s.pattern ? 16 * tokens + 48 * states + 40 * dfaCellsFor(states) : 0)
  );
};

const cache = new LruCache<Surface>(SURFACE_CACHE_WEIGHT, weigh);

/** For tests: forget every compiled surface. */
export const clearSurfaceCache = () => cache.clear();

/** What a stored surface's cache lookup costs: its text is hashed and compared, the entry moved. */
const lookupWork = (text: string) => 64 + (text.length >> 3);
/** What parsing it costs: checking the path, and reading a glob into tokens. */
const parseWork = (text: string) =>
  16 + 2 * text.length + (GLOB_CHARS.test(text) ? 14 * text.length : 0);

/**
 * A surface read back from the database: from the cache, else parsed (without the input limits,
 * which were those of its day) and kept. Undefined when the budget cannot pay for parsing it.
 */
export function storedSurface(text: string, budget: Budget): Surface | undefined {
  budget.compare();
  if (!budget.spend(lookupWork(text))) return undefined;
  const cached = cache.get(text);
  if (cached) return cached;
  if (!budget.spend(parseWork(text))) return undefined;
  let surface: Surface;
  try {
    surface = readSurface(text);
  } catch (err) {
    if (!(err instanceof SurfaceError)) throw err;
    // A row no longer readable by today's rules still blocks: it is taken to cover every path.
    surface = {
      text,
      body: text,
      directory: false,
      pattern: ANY_PATH,
      prefix: '',
      suffix: '',
      depth: ANY_DEPTH,
    };
  }
  cache.set(text, surface);
  return surface;
}

/**
 * The surface's pattern compiled: from the surface, from the cache entry of the same text, or
 * compiled now. Undefined when the budget cannot pay for compiling it.
 */
export function automatonOf(s: GlobSurface, budget: Budget): Automaton | undefined {
  if (s.automaton) return s.automaton;
  const cached = cache.get(s.text);
  if (cached?.automaton && cached.pattern) {
    s.automaton = cached.automaton;
    return s.automaton;
  }
  if (!budget.spend(compileWork(s.pattern))) return undefined;
  s.automaton = compile(s.pattern, s.directory);
  if (cached) cached.automaton = s.automaton;
  return s.automaton;
}

function parseLane(text: string): Surface | undefined {
  if (!text.startsWith(LANE_PREFIX)) return undefined;
  const lane = text.slice(LANE_PREFIX.length);
  if (!LANE.safeParse(lane).success) {
    throw new SurfaceError(
      'a lane surface is "lane:" and 1–64 characters of a-z, 0-9, ".", "_" and "-"',
    );
  }
  return {
    text,
    lane,
    body: text,
    directory: false,
    prefix: text,
    suffix: text,
    depth: ANY_DEPTH,
  };
}

/** At most 80 characters of what was given, for a message (never half a surrogate pair). */
function clip(text: string): string {
  const chars = Array.from(text);
  return chars.length > 80 ? `${chars.slice(0, 80).join('')}…` : text;
}

/** The path rules shared by surfaces and concrete paths: relative, normalised, bounded. */
function checkPath(text: string): { body: string; directory: boolean } {
  if (text.length === 0 || text.length > MAX_SURFACE_LENGTH) {
    throw new SurfaceError(`a surface is 1–${MAX_SURFACE_LENGTH} characters`);
  }
  // Not echoed: the text itself is what cannot be shown.
  if (CONTROL.test(text)) {
    throw new SurfaceError('a surface must not contain control characters (NUL, tab, newline …)');
  }
  if (SURROGATE.test(text) && LONE_SURROGATE.test(text)) {
    throw new SurfaceError('a surface must be valid Unicode (it has a lone surrogate)');
  }
  const shown = () => `\`${clip(text)}\``;
  if (text.includes('\\')) {
    throw new SurfaceError(`${shown()}: separate directories with "/"; "\\" is not allowed`);
  }
  if (text.startsWith('/')) {
    throw new SurfaceError(
      `${shown()}: use a path relative to the repository root, without a leading "/"`,
    );
  }
  const directory = text.endsWith('/');
  const body = directory ? text.slice(0, -1) : text;
  // Scanned rather than split: a deep path would be hundreds of strings, for each of 1,000 paths.
  if (EMPTY_SEGMENT.test(body))
    throw new SurfaceError(`${shown()}: remove the empty segment ("//")`);
  if (DOT_SEGMENT.test(body)) {
    throw new SurfaceError(
      `${shown()}: "." and ".." segments are not allowed; write the path from the repository root`,
    );
  }
  return { body, directory };
}
