import type { LeaseRow } from '../db/leases.js';
import { MAX_LEASES_PER_ANSWER, MAX_LEASES_PER_PATH } from './limits.js';
import { overlaps } from './overlap.js';
import { LANE_PREFIX, storedSurface, type Surface } from './surface.js';
import type { Budget } from './work.js';

// Which live leases overlap a surface (who_holds), and which cover each of many concrete paths
// (check_paths), within one request's matching budget. Past the budget, a lease not yet weighed
// is taken to overlap; the answer says so (`overlap_assumed`) and stays within its listing caps.

interface Held {
  row: LeaseRow;
  /** Undefined when the budget could not pay for reading it: it is taken to cover every path. */
  surface: Surface | undefined;
}

/** The rows whose surface overlaps `surface`, stopping once `enough` are found. */
export function overlapping(
  surface: Surface,
  rows: readonly LeaseRow[],
  budget: Budget,
  enough: number,
) {
  const hits: LeaseRow[] = [];
  for (const row of rows) {
    if (hits.length >= enough) break;
    const held = storedSurface(row.surface, budget);
    if (held ? overlaps(surface, held, budget) : assumed(row.surface, surface)) hits.push(row);
  }
  return { hits, assumed: budget.exhausted };
}

const isLane = (text: string) => text.startsWith(LANE_PREFIX);

/** A lease that could not be read: a lane is still told apart by its text, a path overlaps. */
const assumed = (text: string, surface: Surface) =>
  isLane(text) || surface.lane !== undefined ? text === surface.text : true;

/**
 * The leases by the kind of question that finds them: lanes, plain paths and directories by
 * exact lookup (a path asks for itself and each of its parent directories), globs one by one.
 */
class LeaseIndex {
  readonly lanes = new Map<string, Held[]>();
  readonly files = new Map<string, Held[]>();
  readonly dirs = new Map<string, Held[]>();
  readonly globs: Held[] = [];
  /** Every lease on a path, exclusive ones first: what a path is answered once the budget is out. */
  readonly paths: Held[] = [];

  constructor(rows: readonly LeaseRow[], budget: Budget) {
    for (const row of rows) {
      const held: Held = { row, surface: storedSurface(row.surface, budget) };
      const s = held.surface;
      if (isLane(row.surface)) add(this.lanes, row.surface, held);
      else if (s === undefined || s.pattern) this.globs.push(held);
      else add(s.directory ? this.dirs : this.files, s.body, held);
      if (!isLane(row.surface)) this.paths.push(held);
    }
    this.paths.sort(exclusiveFirst);
  }

  /** The leases covering one concrete path; all path leases once the budget is spent. */
  covering(path: Surface, budget: Budget): Held[] {
    if (path.lane !== undefined) return this.lanes.get(path.text) ?? [];
    if (budget.exhausted) return this.paths;
    const found: Held[] = [];
    if (path.directory) {
      for (const held of this.paths) if (hit(held, path, budget)) found.push(held);
    } else {
      const body = path.body;
      if (!budget.spend(4 + (body.length >> 2))) return this.paths;
      found.push(...(this.files.get(body) ?? []), ...(this.dirs.get(body) ?? []));
      for (let i = body.indexOf('/'); i > 0; i = body.indexOf('/', i + 1)) {
        if (!budget.spend(4 + (i >> 3))) return this.paths;
        found.push(...(this.dirs.get(body.slice(0, i)) ?? []));
      }
      for (const held of this.globs) if (hit(held, path, budget)) found.push(held);
    }
    // Listing and ordering what was found is work too: many shared leases may cover one path.
    if (!budget.spend(4 + found.length * (2 + Math.ceil(Math.log2(found.length + 1))))) {
      return this.paths;
    }
    return found.sort(exclusiveFirst);
  }
}

const hit = (held: Held, path: Surface, budget: Budget) =>
  held.surface === undefined || overlaps(held.surface, path, budget);

function add(map: Map<string, Held[]>, key: string, held: Held) {
  const list = map.get(key);
  if (list) list.push(held);
  else map.set(key, [held]);
}

// A guard refuses on an exclusive lease: when a listing is cut short, those are the ones it shows.
// Otherwise the rows' own order (by surface) is kept.
const exclusiveFirst = (a: Held, b: Held) =>
  (a.row.mode === 'exclusive' ? 0 : 1) - (b.row.mode === 'exclusive' ? 0 : 1);

export interface PathCoverage {
  path: string;
  leases: LeaseRow[];
  /** Covering leases not listed. */
  more: number;
}

/**
 * For each concrete path, the leases covering it: at most MAX_LEASES_PER_PATH each, and once the
 * answer lists MAX_LEASES_PER_ANSWER, one each (so a covered path never reads as free).
 */
export function coverPaths(paths: readonly Surface[], rows: readonly LeaseRow[], budget: Budget) {
  const index = new LeaseIndex(rows, budget);
  let listed = 0;
  const out: PathCoverage[] = paths.map((path) => {
    const found = index.covering(path, budget);
    const room = Math.max(1, Math.min(MAX_LEASES_PER_PATH, MAX_LEASES_PER_ANSWER - listed));
    const leases = found.slice(0, room).map((h) => h.row);
    listed += leases.length;
    return { path: path.text, leases, more: found.length - leases.length };
  });
  return { paths: out, assumed: budget.exhausted };
}
