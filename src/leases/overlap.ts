import type { Mode } from '../db/leases.js';
import {
  accepts,
  Budget,
  compileGlob,
  compileLiteral,
  GlobSyntaxError,
  intersects,
  type Automaton,
} from './wildmatch.js';

// The overlap rules for lease surfaces, in one place. A surface is a path (`src/db/pool.ts`), a
// directory (`src/db/`, covering everything inside it), a git wildmatch glob (`src/**/*.ts`) or a
// named lane (`lane:feeds-refactor`). Two surfaces overlap when some path could be covered by
// both; when in doubt the answer is "overlaps", because a false "no" hands one file to two agents.
//
// - A lane overlaps only the same lane, and never a path.
// - A glob covers what git's wildmatch matches, and also the path spelled exactly as written:
//   `app/[id]/page.tsx` is a real file name in many repositories, and its holder must be
//   protected whichever way another agent reads the brackets.
// - Case matters, as it does in git.

export type { Mode };

export interface Surface {
  /** As leased: the text that identifies the lease for renewal and release. */
  text: string;
  /** The lane name of a `lane:` surface. */
  lane?: string;
  /** The path surface's readings; overlapping any one of them is overlapping. */
  readings: readonly Automaton[];
  /** Every path the surface covers starts with this: a cheap first test before the automata. */
  prefix: string;
  /** Set when the surface is one concrete path (no glob, not a directory): a faster test. */
  path?: string;
}

export const MAX_SURFACE_LENGTH = 512;
const LANE_PREFIX = 'lane:';
const LANE_NAME = /^[a-z0-9._-]{1,64}$/;
const GLOB_CHARS = /[*?[]/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Half a UTF-16 pair cannot be stored as UTF-8; it would come back as U+FFFD, another surface.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Thrown with a message that says how to write the surface instead. */
export class SurfaceError extends Error {}

/** Exclusive conflicts with everything; shared only with exclusive. */
export function modesConflict(a: Mode, b: Mode): boolean {
  return a === 'exclusive' || b === 'exclusive';
}

export { Budget };

/**
 * The matching work allowed per request (about half a second of CPU): ordinary projects use a
 * small fraction of it even when checking 1,000 paths against hundreds of globs.
 */
export const requestBudget = () => new Budget(50_000_000);

/** Past the budget, "overlaps": a comparison too costly to finish is treated as a conflict. */
export function overlaps(a: Surface, b: Surface, budget = requestBudget()): boolean {
  if (a.text === b.text) return true;
  if (a.lane !== undefined || b.lane !== undefined) return false;
  if (!a.prefix.startsWith(b.prefix) && !b.prefix.startsWith(a.prefix)) return false;
  if (b.path !== undefined) return a.readings.some((r) => accepts(r, b.path as string, budget));
  if (a.path !== undefined) return b.readings.some((r) => accepts(r, a.path as string, budget));
  return a.readings.some((ra) => b.readings.some((rb) => intersects(ra, rb, budget)));
}

/** A lease surface: path, directory, glob or lane. */
export function parseSurface(text: string): Surface {
  const lane = parseLane(text);
  if (lane) return lane;
  const { body, directory } = checkPath(text);
  let glob: Automaton;
  try {
    glob = compileGlob(body, directory);
  } catch (err) {
    if (err instanceof GlobSyntaxError) throw new SurfaceError(`\`${text}\`: ${err.message}`);
    throw err;
  }
  const wild = body.search(GLOB_CHARS);
  if (wild < 0) return { text, readings: [glob], prefix: body, path: directory ? undefined : body };
  return { text, readings: [glob, compileLiteral(body, directory)], prefix: body.slice(0, wild) };
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
      `\`${text}\` is a glob; pass concrete paths here, or ask who_holds about a glob`,
    );
  }
  const { body, directory } = checkPath(text);
  return {
    text,
    readings: [compileLiteral(body, directory)],
    prefix: body,
    path: directory ? undefined : body,
  };
}

function parseLane(text: string): Surface | undefined {
  if (!text.startsWith(LANE_PREFIX)) return undefined;
  const lane = text.slice(LANE_PREFIX.length);
  if (!LANE_NAME.test(lane)) {
    throw new SurfaceError(
      'a lane surface is "lane:" and 1–64 characters of a-z, 0-9, ".", "_" and "-"',
    );
  }
  return { text, lane, readings: [], prefix: text };
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
  if (LONE_SURROGATE.test(text)) {
    throw new SurfaceError('a surface must be valid Unicode (it has a lone surrogate)');
  }
  const shown = `\`${clip(text)}\``;
  if (text.includes('\\')) {
    throw new SurfaceError(`${shown}: separate directories with "/"; "\\" is not allowed`);
  }
  if (text.startsWith('/')) {
    throw new SurfaceError(
      `${shown}: use a path relative to the repository root, without a leading "/"`,
    );
  }
  const directory = text.endsWith('/');
  const body = directory ? text.slice(0, -1) : text;
  for (const segment of body.split('/')) {
    if (segment === '') throw new SurfaceError(`${shown}: remove the empty segment ("//")`);
    if (segment === '.' || segment === '..') {
      throw new SurfaceError(
        `${shown}: "." and ".." segments are not allowed; write the path from the repository root`,
      );
    }
  }
  return { body, directory };
}
