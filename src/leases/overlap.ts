import type { Mode } from '../db/leases.js';
import { SLASH } from './glob.js';
import { automatonOf, isGlob, type GlobSurface, type Surface } from './surface.js';
import { accepts, acceptsWithin } from './subsets.js';
import { intersects } from './wildmatch.js';
import { Budget, requestBudget } from './work.js';

// The overlap rules for lease surfaces, in one place. Two surfaces overlap when some path could
// be covered by both; when in doubt the answer is "overlaps", because a false "no" hands one
// file to two agents.
//
// - A lane overlaps only the same lane, and never a path.
// - A glob covers what git's wildmatch matches, and also the path spelled exactly as written:
//   `app/[id]/page.tsx` is a real file name in many repositories, and its holder must be
//   protected whichever way another agent reads the brackets.
// - Case matters, as it does in git.
// - Past the request's matching budget, every answer is "overlaps".

export type { Mode };

export { MAX_SURFACE_LENGTH } from './limits.js';
export { parsePath, parseSurface, readSurface, SurfaceError, type Surface } from './surface.js';
export { Budget, requestBudget };

/** Exclusive conflicts with everything; shared only with exclusive. */
export function modesConflict(a: Mode, b: Mode): boolean {
  return a === 'exclusive' || b === 'exclusive';
}

/** What comparing two surfaces' prefixes and suffixes costs (comparisons stop at the shorter). */
const endsWork = (a: Surface, b: Surface) =>
  4 +
  ((Math.min(a.prefix.length, b.prefix.length) + Math.min(a.suffix.length, b.suffix.length)) >> 5);

export function overlaps(a: Surface, b: Surface, budget: Budget = requestBudget()): boolean {
  if (a.lane !== undefined || b.lane !== undefined) return a.text === b.text;
  budget.compare();
  if (!budget.spend(endsWork(a, b))) return true;
  // Cheap refusals first. Every path either covers starts with its prefix, ends with its suffix
  // and has a number of segments within its depth.
  if (!a.prefix.startsWith(b.prefix) && !b.prefix.startsWith(a.prefix)) return false;
  if (!a.suffix.endsWith(b.suffix) && !b.suffix.endsWith(a.suffix)) return false;
  if (a.depth[0] > b.depth[1] || b.depth[0] > a.depth[1]) return false;
  if (!budget.spend(1 + (Math.min(a.body.length, b.body.length) >> 5))) return true;
  if (literalsMeet(a, b)) return true;
  if (isGlob(a) && globMeetsLiteral(a, b, budget)) return true;
  if (isGlob(b) && globMeetsLiteral(b, a, budget)) return true;
  if (!isGlob(a) || !isGlob(b)) return false;
  const ga = automatonOf(a, budget);
  const gb = automatonOf(b, budget);
  return !ga || !gb || intersects(ga, gb, budget);
}

/** Both surfaces read literally: the same path, or one inside the other's directory. */
function literalsMeet(a: Surface, b: Surface): boolean {
  return (
    a.body === b.body ||
    (a.directory && inside(b.body, a.body)) ||
    (b.directory && inside(a.body, b.body))
  );
}

const inside = (path: string, dir: string) =>
  path.length > dir.length && path.charCodeAt(dir.length) === SLASH && path.startsWith(dir);

/** The glob reading of `g` against the literal reading of `l`. */
function globMeetsLiteral(g: GlobSurface, l: Surface, budget: Budget): boolean {
  const automaton = automatonOf(g, budget);
  if (!automaton) return true;
  return l.directory
    ? acceptsWithin(automaton, l.body, budget)
    : accepts(automaton, l.body, budget);
}
